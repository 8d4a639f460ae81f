/**
 * Open-loop load against a running cluster: sessions send whole `utterance` frames at a fixed
 * offered rate; 0-ms nodes answer like the simulated node. Sessions and nodes are pinned to
 * different instances through language pairs: the nodes on instance k serve source language
 * L[k]; a session on instance j speaks L[(j+1) % n]. Measures, in this one process's clock:
 * dispatch latency (utterance sent → job_assign at the node) and end-to-end latency
 * (utterance sent → translation_result at the session).
 */
import { encodeBinaryAudio } from '@lingua/protocol';
import WebSocket from 'ws';
import { answerAssign, BENCH_BINARY_CLIENT, readAssign, registerBenchNode } from './sim-answer';
import { type Summary, summarize } from './stats';

const LANGS = ['fr', 'de', 'es', 'it', 'pt', 'nl', 'sv', 'pl'];

export interface LoadOptions {
  /** gateway ports, one per instance */
  ports: number[];
  sessionsPerInstance: number;
  nodesPerInstance: number;
  nodeSlots: number;
  utteranceBytes: number;
}

export interface LoadResult {
  offered: number;
  sent: number;
  completed: number;
  missing: number;
  seconds: number;
  jobsPerSec: number;
  dispatch: Summary;
  e2e: Summary;
}

interface Sess {
  ws: WebSocket;
  id: string;
  next: number;
  sentAt: Map<number, number>;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });
}

export class LoadRig {
  private sessions: Sess[] = [];
  private nodes: WebSocket[] = [];
  private bySid = new Map<string, Sess>();
  private dispatch: number[] = [];
  private e2e: number[] = [];
  private completed = 0;
  errors: Record<string, number> = {};
  closes = 0;
  private missing = 0;
  private audio: Buffer;

  constructor(private readonly o: LoadOptions) {
    this.audio = Buffer.alloc(o.utteranceBytes, 7);
  }

  async connect(): Promise<void> {
    const n = this.o.ports.length;
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < this.o.nodesPerInstance; j++) {
        const ws = await open(`ws://127.0.0.1:${this.o.ports[k]}/ws/node`);
        ws.on('message', (data, isBinary) => {
          const a = readAssign(data, isBinary);
          if (!a) return;
          const s = this.bySid.get(a.f.session_id ?? '');
          const t = s?.sentAt.get(a.f.utterance_index ?? -1);
          if (t !== undefined) this.dispatch.push(performance.now() - t);
          // As the node SDK does: confirm the assignment, then answer.
          answerAssign(ws, a.f, true, a.audio);
        });
        await registerBenchNode(ws, {
          nodeId: `bench-n${k}-${j}`,
          asrLangs: [LANGS[k]!],
          ttsLangs: ['en'],
          maxJobs: this.o.nodeSlots,
        });
        this.nodes.push(ws);
      }
    }
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < this.o.sessionsPerInstance; i++) {
        const ws = await open(`ws://127.0.0.1:${this.o.ports[j]}/ws/session`);
        const s: Sess = { ws, id: '', next: 0, sentAt: new Map() };
        ws.on('close', () => {
          this.closes++;
        });
        const ready = new Promise<void>((res) => {
          ws.on('message', (data) => {
            const f = JSON.parse(data.toString());
            if (f.type === 'session_init_ack') {
              s.id = f.session_id;
              this.bySid.set(s.id, s);
              res();
            } else if (f.type === 'error') {
              this.errors[f.code] = (this.errors[f.code] ?? 0) + 1;
            } else if (f.type === 'translation_result' || f.type === 'missing_result') {
              const t = s.sentAt.get(f.utterance_index);
              if (t !== undefined) {
                s.sentAt.delete(f.utterance_index);
                if (f.type === 'translation_result') {
                  this.completed++;
                  this.e2e.push(performance.now() - t);
                } else this.missing++;
                this.answered?.();
              }
            }
          });
        });
        ws.send(
          JSON.stringify({
            type: 'session_init',
            src_lang: LANGS[(j + 1) % n],
            tgt_lang: 'en',
            audio_format: 'pcm16',
            sample_rate: 16000,
          }),
        );
        await ready;
        this.sessions.push(s);
      }
    }
  }

  /**
   * One whole utterance, unsequenced (every send is a new utterance): JSON with base64, or with
   * BENCH_BINARY_AUDIO=1 a v1.13 binary frame (the gateways' ack says they take it).
   */
  private utteranceFrame(): string | Uint8Array {
    return BENCH_BINARY_CLIENT
      ? encodeBinaryAudio({ type: 'utterance' }, this.audio)
      : JSON.stringify({ type: 'utterance', data: this.audio.toString('base64') });
  }

  /** Called on every answered utterance (serial()). */
  private answered: (() => void) | undefined;

  /**
   * One utterance in flight at a time, `n` times, on one session: utterance sent → its result.
   * The latency of the path itself, with no queueing behind other work.
   */
  async serial(n: number): Promise<Summary> {
    const s = this.sessions[0]!;
    const lat: number[] = [];
    const frame = this.utteranceFrame();
    for (let i = 0; i < n; i++) {
      const before = this.e2e.length;
      const done = new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error('serial: no answer in 10 s')), 10_000);
        this.answered = () => {
          clearTimeout(t);
          res();
        };
      });
      s.sentAt.set(s.next++, performance.now());
      s.ws.send(frame);
      await done;
      if (this.e2e.length > before) lat.push(this.e2e[this.e2e.length - 1]!);
    }
    this.answered = undefined;
    return summarize(lat);
  }

  /** Offers `rate` utterances/s for `seconds`, then waits (bounded) for the stragglers. */
  async run(rate: number, seconds: number): Promise<LoadResult> {
    this.dispatch = [];
    this.e2e = [];
    this.completed = 0;
    this.missing = 0;
    const frame = this.utteranceFrame();
    const tickMs = 1;
    const total = Math.round(rate * seconds);
    let sent = 0;
    let rr = 0;
    const start = performance.now();
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
        while (sent < due) {
          const s = this.sessions[rr++ % this.sessions.length]!;
          s.sentAt.set(s.next++, performance.now());
          s.ws.send(frame);
          sent++;
        }
        if (sent >= total) {
          clearInterval(timer);
          done();
        }
      }, tickMs);
    });
    const drainEnd = performance.now() + 10_000;
    while (this.completed + this.missing < sent && performance.now() < drainEnd) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds2 = (performance.now() - start) / 1000;
    return {
      offered: rate,
      sent,
      completed: this.completed,
      missing: this.missing,
      seconds: seconds2,
      jobsPerSec: this.completed / seconds2,
      dispatch: summarize(this.dispatch),
      e2e: summarize(this.e2e),
    };
  }

  close(): void {
    for (const s of this.sessions) s.ws.close();
    for (const n of this.nodes) n.close();
  }
}
