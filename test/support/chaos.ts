/**
 * Shared driver for failure tests and drills: K client-SDK sessions streaming whole utterances
 * with known content, and an accounting of every utterance: accepted, delivered as a result,
 * declared missing, lost (accepted with neither), duplicated, or wrong (hash mismatch).
 */
import { LinguaSession } from '@lingua/client-sdk';
import { simulatedOutput } from '@lingua/node-sdk';

export interface SessionTally {
  accepted: Set<number>;
  results: Map<number, number>;
  missing: Map<number, string>;
  wrong: number;
  duplicates: number;
}

export interface Tally {
  accepted: number;
  delivered: number;
  missing: Record<string, number>;
  lost: number;
  duplicated: number;
  wrong: number;
  unaccepted: number;
}

export function utteranceAudio(session: number, k: number): Uint8Array {
  return new TextEncoder().encode(`session ${session} utterance ${k} `.repeat(8));
}

export class StreamingSessions {
  readonly sessions: LinguaSession[] = [];
  readonly tallies: SessionTally[] = [];
  readonly sent: number[] = [];
  reconnects = 0;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly urls: string[],
    private readonly count: number,
    private readonly src = 'zh',
    private readonly tgt = 'en',
  ) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      // Start each session on a different instance; reconnects rotate through the rest.
      const urls = [...this.urls.slice(i % this.urls.length), ...this.urls.slice(0, i % this.urls.length)];
      const s = new LinguaSession({
        urls,
        srcLang: this.src,
        tgtLang: this.tgt,
        reconnect: { initialMs: 50, maxMs: 500 },
      });
      const t: SessionTally = {
        accepted: new Set(),
        results: new Map(),
        missing: new Map(),
        wrong: 0,
        duplicates: 0,
      };
      s.on('accepted', (a) => t.accepted.add(a.utterance_index));
      s.on('result', (r) => {
        t.results.set(r.utterance_index, (t.results.get(r.utterance_index) ?? 0) + 1);
        const expected = simulatedOutput(utteranceAudio(i, r.utterance_index), this.src, this.tgt, false);
        if (r.text_asr !== expected.text_asr || r.text_translated !== expected.text_translated) t.wrong++;
      });
      s.on('missing', (m) => t.missing.set(m.utterance_index, m.reason));
      s.on('error', () => {});
      s.on('reconnected', () => {
        this.reconnects++;
      });
      await s.start();
      this.sessions.push(s);
      this.tallies.push(t);
      this.sent.push(0);
    }
  }

  /** Each session sends `perSession` utterances, one every `intervalMs`. */
  stream(perSession: number, intervalMs: number): Promise<void> {
    return Promise.all(
      this.sessions.map(
        (s, i) =>
          new Promise<void>((done) => {
            const timer = setInterval(() => {
              if (this.sent[i]! >= perSession) {
                clearInterval(timer);
                done();
                return;
              }
              s.sendUtterance(utteranceAudio(i, this.sent[i]!));
              this.sent[i]!++;
            }, intervalMs);
            this.timers.push(timer);
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
    };
    this.tallies.forEach((t, i) => {
      out.accepted += t.accepted.size;
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

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled(this.sessions.map((s) => s.close(1000)));
  }
}
