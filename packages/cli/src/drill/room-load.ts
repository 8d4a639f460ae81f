/**
 * The room drill's load: M client-SDK sessions that join one meeting room (3 languages) and
 * all speak, plus K ordinary zh→en sessions as background load. Each member's socket is
 * tapped: every room frame it receives is recorded raw (before the SDK's de-duplication), and
 * every `session_init` it sends with `resume.room_heard`, so the drill can prove the resume.
 */
import { defaultTransportFactory, type Transport, type TransportFactory } from '@lingua/client-sdk';
import { simulatedOutput } from '@lingua/node-sdk';
import { type StreamingOptions, StreamingSessions, utteranceAudio } from './load';
import {
  type RoomFrameSeen,
  type RoomMemberView,
  type RoomRecovery,
  type RoomTally,
  roomLatency,
  roomRecovery,
  roomSettled,
  tallyRoom,
} from './room-analysis';
import type { Summary } from './stats';

export interface RoomMemberSpec {
  name: string;
  src: string;
  tgt: string;
  listen: string;
}

/**
 * Who speaks and listens what: three languages, listeners of the speaker's target (its own
 * job), of a third language (a fan-out lane) and of its source (the transcript).
 */
const PRESETS: readonly Omit<RoomMemberSpec, 'name'>[] = [
  { src: 'zh', tgt: 'en', listen: 'en' },
  { src: 'en', tgt: 'zh', listen: 'zh' },
  { src: 'zh', tgt: 'ja', listen: 'ja' },
  { src: 'en', tgt: 'ja', listen: 'ja' },
  { src: 'en', tgt: 'zh', listen: 'en' },
  { src: 'zh', tgt: 'en', listen: 'zh' },
];

export function roomMembers(n: number): RoomMemberSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `member-${i}`, ...PRESETS[i % PRESETS.length]! }));
}

/** Wraps a transport factory: `onIn`/`onOut` see every text frame. */
export function tapTransport(
  base: TransportFactory,
  onIn: (text: string) => void,
  onOut: (text: string) => void,
): TransportFactory {
  return (url, opts) => {
    const inner = base(url, opts);
    const outer: Transport = {
      send(text) {
        inner.send(text);
        onOut(text);
      },
      close: (code, reason) => inner.close(code, reason),
      onopen: null,
      onmessage: null,
      onclose: null,
    };
    inner.onopen = () => outer.onopen?.();
    inner.onmessage = (text) => {
      onIn(text);
      outer.onmessage?.(text);
    };
    inner.onclose = (code, reason) => outer.onclose?.(code, reason);
    return outer;
  };
}

export interface RoomReport {
  room_id: string;
  members: (RoomMemberSpec & { first_gateway: number })[];
  languages: string[];
  tally: RoomTally;
  /** every room frame accounted for, for every pair */
  settled: boolean;
  /** session_init frames sent with resume.room_heard (after the fault) */
  resumes_with_room_heard: number;
  /** members whose connection dropped after the fault, and of those, how many got room_joined again */
  moved_members: number;
  rejoined_members: number;
  recovery: RoomRecovery;
  latency_before_fault_ms: Summary | null;
  latency_after_fault_ms: Summary | null;
}

export class RoomSessions extends StreamingSessions {
  readonly specs: RoomMemberSpec[];
  readonly heard: RoomFrameSeen[][];
  /** per member: epoch ms of each session_init sent with resume.room_heard */
  readonly roomHeardSent: number[][];
  /** per member: epoch ms of each room_joined received */
  readonly joinedAt: number[][];

  constructor(
    urls: string[],
    readonly roomId: string,
    members: number,
    background: number,
    opts: StreamingOptions = {},
  ) {
    const specs = roomMembers(members);
    const heard: RoomFrameSeen[][] = specs.map(() => []);
    const roomHeardSent: number[][] = specs.map(() => []);
    const joinedAt: number[][] = specs.map(() => []);
    const now = opts.now ?? Date.now;
    super(urls, members + background, 'zh', 'en', {
      ...opts,
      langs: (i) => (i < members ? specs[i]! : { src: 'zh', tgt: 'en' }),
      transport: (i) =>
        i < members
          ? tapTransport(
              defaultTransportFactory,
              (text) => onRoomFrame(text, now(), heard[i]!, joinedAt[i]!),
              (text) => {
                if (text.includes('"room_heard"') && text.includes('"session_init"'))
                  roomHeardSent[i]!.push(now());
              },
            )
          : defaultTransportFactory,
    });
    this.specs = specs;
    this.heard = heard;
    this.roomHeardSent = roomHeardSent;
    this.joinedAt = joinedAt;
  }

  /** Opens every session, then every member joins the room (before any utterance is sent). */
  override async start(): Promise<void> {
    await super.start();
    for (const [i, m] of this.specs.entries()) {
      await this.sessions[i]!.joinRoom(this.roomId, { displayName: m.name, listenLang: m.listen });
    }
  }

  views(): RoomMemberView[] {
    return this.specs.map((m, i) => {
      const t = this.tallies[i]!;
      return {
        name: m.name,
        sessionId: this.sessions[i]!.sessionId ?? `?${i}`,
        src: m.src,
        listen: m.listen,
        accepted: t.accepted,
        sentAt: t.sentAt,
        heard: this.heard[i]!,
        disconnects: t.disconnects,
        reconnects: t.reconnects,
      };
    });
  }

  override settled(): boolean {
    return super.settled() && roomSettled(this.views());
  }

  report(faultAt: number, gateways: number): RoomReport {
    const views = this.views();
    const moved = views.map((v, i) => ({ v, i })).filter(({ v }) => v.disconnects.some((t) => t >= faultAt));
    const lat = roomLatency(views, faultAt);
    return {
      room_id: this.roomId,
      members: this.specs.map((m, i) => ({ ...m, first_gateway: (i % gateways) + 1 })),
      languages: [...new Set(this.specs.flatMap((m) => [m.src, m.listen]))].sort(),
      tally: tallyRoom(views, (s, idx, lang) => expectedRoomText(this.specs[s]!.src, s, idx, lang)),
      settled: roomSettled(views),
      resumes_with_room_heard: this.roomHeardSent.reduce(
        (n, xs) => n + xs.filter((t) => t >= faultAt).length,
        0,
      ),
      moved_members: moved.length,
      rejoined_members: moved.filter(({ v, i }) => {
        const drop = v.disconnects.find((t) => t >= faultAt)!;
        return this.joinedAt[i]!.some((t) => t >= drop);
      }).length,
      recovery: roomRecovery(views, faultAt),
      latency_before_fault_ms: lat.before,
      latency_after_fault_ms: lat.after,
    };
  }
}

/** The simulated node's output for a listener of `lang`; its own language gets the transcript. */
export function expectedRoomText(src: string, speaker: number, index: number, lang: string) {
  const out = simulatedOutput(utteranceAudio(speaker, index), src, lang, false);
  return { text_asr: out.text_asr, text_translated: lang === src ? out.text_asr : out.text_translated };
}

function onRoomFrame(text: string, at: number, heard: RoomFrameSeen[], joinedAt: number[]): void {
  if (!text.includes('"room_')) return;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return;
  }
  if (m.type === 'room_joined') joinedAt.push(at);
  if (m.type !== 'room_result' && m.type !== 'room_missing_result') return;
  const speaker = (m.speaker as { session_id?: unknown } | undefined)?.session_id;
  heard.push({
    type: m.type,
    speaker: String(speaker),
    index: Number(m.utterance_index),
    at,
    src_lang: m.src_lang as string | undefined,
    tgt_lang: m.tgt_lang as string | undefined,
    text_asr: m.text_asr as string | undefined,
    text_translated: m.text_translated as string | undefined,
    reason: m.reason as string | undefined,
  });
}
