/**
 * Load for failure tests and drills: K client-SDK sessions streaming whole utterances with
 * known content, and an accounting of every utterance: accepted, delivered as a result,
 * declared missing, lost (accepted with neither), duplicated, or wrong (hash mismatch).
 * Every event is time-stamped so a drill can tell when each session was serving again.
 */
import { LinguaSession, type TransportFactory } from '@lingua/client-sdk';
import { simulatedOutput } from '@lingua/node-sdk';
import type { SessionTimeline } from './recovery';

export interface SessionTally {
  accepted: Set<number>;
  results: Map<number, number>;
  missing: Map<number, string>;
  wrong: number;
  duplicates: number;
  /** utterance index → epoch ms of its utterance_accepted */
  acceptedAt: Map<number, number>;
  /** utterance index → epoch ms of its first outcome (result or missing) */
  outcomeAt: Map<number, number>;
  /** epoch ms of every accepted, in arrival order */
  acceptTimes: number[];
  /** epoch ms of every dropped connection */
  disconnects: number[];
  /** epoch ms of every successful resume */
  reconnects: number[];
  /** utterances whose utterance_accepted was lost with a connection; the resume ack covered them */
  acceptedOnResume: number;
  /** utterance index → epoch ms the driver handed it to the SDK (utterance k is index k) */
  sentAt: number[];
}

export interface Tally {
  accepted: number;
  delivered: number;
  missing: Record<string, number>;
  lost: number;
  duplicated: number;
  wrong: number;
  unaccepted: number;
  /** accepted without an utterance_accepted frame: covered by a resume ack's next_utterance_index */
  acceptedOnResume: number;
}

/** One line of the live progress display. */
export interface LoadSnapshot {
  sessions: number;
  open: number;
  sent: number;
  accepted: number;
  delivered: number;
  missing: number;
  inFlight: number;
  reconnects: number;
}

export interface StreamingOptions {
  reconnect?: { initialMs: number; maxMs: number };
  /** the session token (or a function minting one per connection) when the gateways require one */
  token?: string | (() => string);
  /** Clock for the time stamps (epoch ms). */
  now?: () => number;
  /** per-session languages (the room drill); default the constructor's src/tgt for all */
  langs?: (session: number) => { src: string; tgt: string };
  /** per-session transport (the room drill taps frames); default the SDK's */
  transport?: (session: number) => TransportFactory;
}

/** The audio of utterance `k` of session `session`: deterministic, so results can be checked. */
export function utteranceAudio(session: number, k: number): Uint8Array {
  return new TextEncoder().encode(`session ${session} utterance ${k} `.repeat(8));
}

export class StreamingSessions {
  readonly sessions: LinguaSession[] = [];
  readonly tallies: SessionTally[] = [];
  readonly sent: number[] = [];
  reconnects = 0;
  private timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;

  constructor(
    private readonly urls: string[],
    private readonly count: number,
    private readonly src = 'zh',
    private readonly tgt = 'en',
    private readonly opts: StreamingOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      // Start each session on a different instance; reconnects rotate through the rest.
      const urls = [...this.urls.slice(i % this.urls.length), ...this.urls.slice(0, i % this.urls.length)];
      const { src, tgt } = this.langsOf(i);
      const transportFactory = this.opts.transport?.(i);
      const s = new LinguaSession({
        urls,
        srcLang: src,
        tgtLang: tgt,
        reconnect: this.opts.reconnect ?? { initialMs: 50, maxMs: 500 },
        token: this.opts.token,
        ...(transportFactory ? { transportFactory } : {}),
      });
      const t: SessionTally = {
        accepted: new Set(),
        results: new Map(),
        missing: new Map(),
        wrong: 0,
        duplicates: 0,
        acceptedAt: new Map(),
        outcomeAt: new Map(),
        acceptTimes: [],
        disconnects: [],
        reconnects: [],
        acceptedOnResume: 0,
        sentAt: [],
      };
      const outcome = (idx: number) => {
        if (!t.outcomeAt.has(idx)) t.outcomeAt.set(idx, this.now());
      };
      s.on('accepted', (a) => {
        const at = this.now();
        t.accepted.add(a.utterance_index);
        if (!t.acceptedAt.has(a.utterance_index)) t.acceptedAt.set(a.utterance_index, at);
        t.acceptTimes.push(at);
      });
      s.on('result', (r) => {
        outcome(r.utterance_index);
        t.results.set(r.utterance_index, (t.results.get(r.utterance_index) ?? 0) + 1);
        const expected = simulatedOutput(utteranceAudio(i, r.utterance_index), src, tgt, false);
        if (r.text_asr !== expected.text_asr || r.text_translated !== expected.text_translated) t.wrong++;
      });
      s.on('missing', (m) => {
        outcome(m.utterance_index);
        t.missing.set(m.utterance_index, m.reason);
      });
      // LINGUA_DRILL_DEBUG=1: every error frame a session got (e.g. why one never resumed).
      s.on('error', (e) => {
        if (process.env.LINGUA_DRILL_DEBUG) console.error(`session ${i} error ${e.code}: ${e.message}`);
      });
      s.on('disconnected', () => t.disconnects.push(this.now()));
      s.on('reconnected', (ack) => {
        const at = this.now();
        t.reconnects.push(at);
        this.reconnects++;
        // An utterance can be accepted while its utterance_accepted frame dies with the old
        // connection; the resume ack's next_utterance_index is then the acceptance (utterance
        // k of this driver is index k, one whole utterance per seq).
        for (let idx = 0; idx < ack.next_utterance_index; idx++) {
          if (t.accepted.has(idx)) continue;
          t.accepted.add(idx);
          t.acceptedAt.set(idx, at);
          t.acceptedOnResume++;
        }
      });
      await s.start();
      this.sessions.push(s);
      this.tallies.push(t);
      this.sent.push(0);
    }
  }

  /** The languages session `i` speaks and gets its own results in. */
  langsOf(i: number): { src: string; tgt: string } {
    return this.opts.langs?.(i) ?? { src: this.src, tgt: this.tgt };
  }

  private sendNext(i: number): void {
    this.tallies[i]!.sentAt.push(this.now());
    this.sessions[i]!.sendUtterance(utteranceAudio(i, this.sent[i]!));
    this.sent[i]!++;
  }

  /** Each session sends `perSession` utterances, one every `intervalMs`. */
  stream(perSession: number, intervalMs: number): Promise<void> {
    return Promise.all(
      this.sessions.map(
        (_, i) =>
          new Promise<void>((done) => {
            const timer = setInterval(() => {
              if (this.sent[i]! >= perSession) {
                clearInterval(timer);
                done();
                return;
              }
              this.sendNext(i);
            }, intervalMs);
            this.timers.push(timer);
          }),
      ),
    ).then(() => {});
  }

  /**
   * Each session sends one utterance every `intervalMs` (sessions staggered across the
   * interval so the load is even) until `stop()` returns true.
   */
  streamUntil(intervalMs: number, stop: () => boolean): Promise<void> {
    return this.streamPaced(intervalMs, Number.POSITIVE_INFINITY, stop);
  }

  /**
   * Closed-loop load: each session sends its next utterance every `intervalMs` unless
   * `maxInFlight` of its utterances still wait for an outcome, until `stop()` returns true. The
   * offered load follows what the cluster serves, so a slow (busy) machine is not buried under a
   * backlog that only measures the machine.
   */
  streamPaced(intervalMs: number, maxInFlight: number, stop: () => boolean): Promise<void> {
    const n = this.sessions.length;
    return Promise.all(
      this.sessions.map(
        (_, i) =>
          new Promise<void>((done) => {
            const begin = setTimeout(
              () => {
                const tick = () => {
                  if (stop()) {
                    clearInterval(timer);
                    done();
                    return;
                  }
                  if (this.sent[i]! - this.tallies[i]!.outcomeAt.size < maxInFlight) this.sendNext(i);
                };
                const timer = setInterval(tick, intervalMs);
                this.timers.push(timer);
                tick();
              },
              Math.floor((intervalMs * i) / Math.max(1, n)),
            );
            this.timers.push(begin);
          }),
      ),
    ).then(() => {});
  }

  /** True once every sent utterance is accepted and has exactly one outcome. */
  settled(): boolean {
    return this.tallies.every((t, i) => {
      if (t.accepted.size < this.sent[i]!) return false;
      for (const idx of t.accepted) if (!t.results.has(idx) && !t.missing.has(idx)) return false;
      return true;
    });
  }

  tally(): Tally {
    const out: Tally = {
      accepted: 0,
      delivered: 0,
      missing: {},
      lost: 0,
      duplicated: 0,
      wrong: 0,
      unaccepted: 0,
      acceptedOnResume: 0,
    };
    this.tallies.forEach((t, i) => {
      out.accepted += t.accepted.size;
      out.acceptedOnResume += t.acceptedOnResume;
      out.unaccepted += Math.max(0, this.sent[i]! - t.accepted.size);
      for (const idx of t.accepted) {
        const r = t.results.get(idx) ?? 0;
        const m = t.missing.has(idx) ? 1 : 0;
        if (r + m === 0) out.lost++;
        if (r + m > 1) out.duplicated += r + m - 1;
      }
      for (const n of t.results.values()) out.delivered += n;
      for (const reason of t.missing.values()) out.missing[reason] = (out.missing[reason] ?? 0) + 1;
      out.wrong += t.wrong;
      out.duplicated += this.sessions[i]!.duplicateResults;
    });
    return out;
  }

  snapshot(): LoadSnapshot {
    let accepted = 0;
    let delivered = 0;
    let missing = 0;
    for (const t of this.tallies) {
      accepted += t.accepted.size;
      delivered += t.results.size;
      missing += t.missing.size;
    }
    return {
      sessions: this.sessions.length,
      open: this.sessions.filter((s) => s.state === 'open').length,
      sent: this.sent.reduce((a, b) => a + b, 0),
      accepted,
      delivered,
      missing,
      inFlight: Math.max(0, accepted - delivered - missing),
      reconnects: this.reconnects,
    };
  }

  /** Per-session event times for the recovery analysis. */
  timelines(): SessionTimeline[] {
    return this.tallies.map((t) => ({
      acceptTimes: t.acceptTimes,
      disconnects: t.disconnects,
      reconnects: t.reconnects,
      acceptedAt: t.acceptedAt,
      outcomeAt: t.outcomeAt,
      missingIdx: new Set(t.missing.keys()),
    }));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled(this.sessions.map((s) => s.close(1000)));
  }
}
