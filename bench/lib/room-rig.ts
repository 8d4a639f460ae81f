/**
 * The room benchmark's load: raw WebSocket clients (no SDK, one process clock) against running
 * gateways. M room members in one room (three languages; member i on instance i mod n) and K
 * plain 1:1 sessions (zh→en) speak at the same per-session rate; 0-ms nodes serving zh/en/ja
 * answer like the simulated node. Measured, with performance.now() in this process:
 *   - fan-out latency: a speaker's utterance sent → each listener's room_result, and
 *     → the last of its listeners (every listener has it);
 *   - 1:1 latency: utterance sent → translation_result, for the plain sessions and for the
 *     members' own results (same run, same load).
 */
import WebSocket from 'ws';
import { answerAssign, readAssign, registerBenchNode } from './sim-answer';
import { type Summary, summarize } from './stats';

const LANGS = ['zh', 'en', 'ja'];
/** speaks → its session's tgt, listens in: the speaker's own job, a lane, or the transcript */
const MEMBER_PRESETS = [
  { src: 'zh', tgt: 'en', listen: 'en' },
  { src: 'en', tgt: 'zh', listen: 'zh' },
  { src: 'ja', tgt: 'en', listen: 'ja' },
  { src: 'en', tgt: 'ja', listen: 'en' },
];

export interface RoomRigOptions {
  ports: number[];
  members: number;
  plainSessions: number;
  nodesPerInstance: number;
  nodeSlots: number;
  utteranceBytes: number;
}

interface Client {
  ws: WebSocket;
  id: string;
  member: boolean;
  next: number;
  sentAt: Map<number, number>;
}

export interface RoomRunResult {
  seconds: number;
  /** utterances the members sent, and how many reached every listener */
  roomUtterances: number;
  roomComplete: number;
  /** speaker's send → each listener's room_result */
  fanoutEach: Summary;
  /** speaker's send → the last listener's room_result (every listener has it) */
  fanoutAll: Summary;
  /** speaker's send → its own translation_result (room members) */
  memberOwn: Summary;
  /** utterance sent → translation_result, plain 1:1 sessions */
  plain: Summary;
  plainSent: number;
  plainDone: number;
  missing: number;
  /** jobs the nodes got per member utterance (own + one per other listen language) */
  jobsPerRoomUtterance: number;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });
}

export class RoomRig {
  private readonly clients: Client[] = [];
  private readonly nodes: WebSocket[] = [];
  private readonly bySid = new Map<string, Client>();
  /** "<speaker>|<index>" → arrival times at listeners */
  private heard = new Map<string, number[]>();
  private memberOwn: number[] = [];
  private plain: number[] = [];
  private plainDone = 0;
  private missing = 0;
  private memberJobs = 0;
  errors: Record<string, number> = {};
  private readonly audio: Buffer;

  constructor(private readonly o: RoomRigOptions) {
    this.audio = Buffer.alloc(o.utteranceBytes, 7);
  }

  async connect(roomId: string): Promise<void> {
    const { ports } = this.o;
    for (const [k, port] of ports.entries()) {
      for (let j = 0; j < this.o.nodesPerInstance; j++)
        this.nodes.push(await this.node(port, `bench-room-n${k}-${j}`));
    }
    for (let i = 0; i < this.o.members; i++) {
      const p = MEMBER_PRESETS[i % MEMBER_PRESETS.length]!;
      const c = await this.session(ports[i % ports.length]!, p.src, p.tgt, true);
      await this.request(
        c,
        { type: 'room_join', room_id: roomId, display_name: `m${i}`, listen_lang: p.listen },
        'room_joined',
      );
    }
    for (let i = 0; i < this.o.plainSessions; i++) {
      await this.session(ports[(i + 1) % ports.length]!, 'zh', 'en', false);
    }
  }

  private async node(port: number, id: string): Promise<WebSocket> {
    const ws = await open(`ws://127.0.0.1:${port}/ws/node`);
    ws.on('message', (data, isBinary) => {
      const a = readAssign(data, isBinary);
      if (!a) return;
      const sid = String(a.f.session_id);
      // A lane is "<speaker>:<lang>": count it against the speaker.
      if (this.bySid.get(sid.split(':')[0]!)?.member) this.memberJobs++;
      answerAssign(ws, a.f, false, a.audio);
    });
    await registerBenchNode(ws, { nodeId: id, asrLangs: LANGS, ttsLangs: LANGS, maxJobs: this.o.nodeSlots });
    return ws;
  }

  private async session(port: number, src: string, tgt: string, member: boolean): Promise<Client> {
    const ws = await open(`ws://127.0.0.1:${port}/ws/session`);
    const c: Client = { ws, id: '', member, next: 0, sentAt: new Map() };
    const ready = new Promise<void>((res) => {
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        const now = performance.now();
        if (f.type === 'session_init_ack') {
          c.id = f.session_id;
          this.bySid.set(c.id, c);
          res();
        } else if (f.type === 'error') {
          this.errors[f.code] = (this.errors[f.code] ?? 0) + 1;
        } else if (f.type === 'translation_result' || f.type === 'missing_result') {
          const t = c.sentAt.get(f.utterance_index);
          if (t === undefined) return;
          if (f.type === 'missing_result') this.missing++;
          else if (member) this.memberOwn.push(now - t);
          else {
            this.plain.push(now - t);
            this.plainDone++;
          }
          if (!member) c.sentAt.delete(f.utterance_index);
        } else if (f.type === 'room_result' || f.type === 'room_missing_result') {
          if (f.type === 'room_missing_result') this.missing++;
          const key = `${f.speaker.session_id}|${f.utterance_index}`;
          const xs = this.heard.get(key) ?? [];
          xs.push(now);
          this.heard.set(key, xs);
        }
      });
    });
    ws.send(
      JSON.stringify({
        type: 'session_init',
        src_lang: src,
        tgt_lang: tgt,
        audio_format: 'pcm16',
        sample_rate: 16000,
      }),
    );
    await ready;
    this.clients.push(c);
    return c;
  }

  private request(c: Client, frame: object, answer: string): Promise<void> {
    return new Promise((res) => {
      const on = (d: WebSocket.RawData) => {
        if (d.toString().includes(`"${answer}"`)) {
          c.ws.off('message', on);
          res();
        }
      };
      c.ws.on('message', on);
      c.ws.send(JSON.stringify(frame));
    });
  }

  /** Every session sends `perSessionRate` utterances/s for `seconds`, staggered; then drains (bounded). */
  async run(perSessionRate: number, seconds: number): Promise<RoomRunResult> {
    this.heard = new Map();
    this.memberOwn = [];
    this.plain = [];
    this.plainDone = 0;
    this.missing = 0;
    this.memberJobs = 0;
    for (const c of this.clients) c.sentAt.clear();
    const frame = JSON.stringify({ type: 'utterance', data: this.audio.toString('base64') });
    const n = this.clients.length;
    const intervalMs = 1000 / perSessionRate;
    const perSession = Math.max(1, Math.round(perSessionRate * seconds));
    const base = this.clients.map((c) => c.next);
    const start = performance.now();
    await new Promise<void>((done) => {
      let sent = 0;
      const timer = setInterval(() => {
        const elapsed = performance.now() - start;
        for (const [i, c] of this.clients.entries()) {
          // session i sends its k-th utterance at (k + i/n) intervals
          const due = Math.min(perSession, Math.floor(elapsed / intervalMs - i / n) + 1);
          while (c.next - base[i]! < due) {
            c.sentAt.set(c.next++, performance.now());
            c.ws.send(frame);
            sent++;
          }
        }
        if (sent >= perSession * n) {
          clearInterval(timer);
          done();
        }
      }, 1);
    });
    const members = this.clients.filter((c) => c.member);
    const listeners = members.length - 1;
    const roomUtterances = members.reduce((a, c) => a + c.sentAt.size, 0);
    const complete = () => [...this.heard.values()].filter((xs) => xs.length >= listeners).length;
    const drainEnd = performance.now() + 15_000;
    while (
      (complete() < roomUtterances || this.plainDone < perSession * this.o.plainSessions) &&
      performance.now() < drainEnd
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const each: number[] = [];
    const all: number[] = [];
    for (const s of members) {
      for (const [idx, t] of s.sentAt) {
        const xs = this.heard.get(`${s.id}|${idx}`) ?? [];
        for (const x of xs) each.push(x - t);
        if (xs.length >= listeners) all.push(Math.max(...xs) - t);
      }
    }
    return {
      seconds: (performance.now() - start) / 1000,
      roomUtterances,
      roomComplete: all.length,
      fanoutEach: summarize(each),
      fanoutAll: summarize(all),
      memberOwn: summarize(this.memberOwn),
      plain: summarize(this.plain),
      plainSent: perSession * this.o.plainSessions,
      plainDone: this.plainDone,
      missing: this.missing,
      jobsPerRoomUtterance: roomUtterances ? this.memberJobs / roomUtterances : Number.NaN,
    };
  }

  close(): void {
    for (const c of this.clients) c.ws.close();
    for (const n of this.nodes) n.close();
  }
}
