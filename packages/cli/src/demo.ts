/**
 * Demo traffic for a local cluster: a few client sessions (client SDK) that each send one
 * synthetic utterance every interval, so the dashboard has jobs, rates and latency to show.
 */
import { randomBytes } from 'node:crypto';
import { LinguaSession } from '@lingua/client-sdk';

export interface DemoOptions {
  urls: string[];
  /** "src:tgt" pairs, used round-robin by the sessions */
  pairs: string[];
  sessions: number;
  intervalMs: number;
  token?: string;
  /** 0.5 s of 16 kHz pcm16 by default */
  utteranceBytes?: number;
}

export interface DemoStats {
  sent: number;
  results: number;
  missing: number;
  errors: number;
}

export class Demo {
  readonly stats: DemoStats = { sent: 0, results: 0, missing: 0, errors: 0 };
  private readonly sessions: LinguaSession[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: DemoOptions) {}

  async start(): Promise<void> {
    const { opts } = this;
    if (!opts.pairs.length) throw new Error('no language pair to use');
    for (let i = 0; i < opts.sessions; i++) {
      const [srcLang, tgtLang] = opts.pairs[i % opts.pairs.length]!.split(':') as [string, string];
      const s = new LinguaSession({ urls: opts.urls, srcLang, tgtLang, token: opts.token });
      s.on('result', () => this.stats.results++);
      s.on('missing', () => this.stats.missing++);
      s.on('error', () => this.stats.errors++);
      await s.start();
      this.sessions.push(s);
    }
    let turn = 0;
    this.timer = setInterval(
      () => {
        const s = this.sessions[turn++ % this.sessions.length];
        if (!s || s.state === 'closed' || s.state === 'closing') return;
        try {
          s.sendUtterance(randomBytes(opts.utteranceBytes ?? 16_000));
          this.stats.sent++;
        } catch {
          this.stats.errors++; // buffer full while reconnecting: skip this turn
        }
      },
      Math.max(10, Math.floor(opts.intervalMs / Math.max(1, this.sessions.length))),
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled(this.sessions.map((s) => s.close(2000)));
  }
}

/** Pairs served by at least one node, from a pool listing ("src:tgt" -> nodes). */
export function servedPairs(pools: Record<string, { nodes: number }>): string[] {
  return Object.entries(pools)
    .filter(([, p]) => p.nodes > 0)
    .map(([pair]) => pair)
    .sort();
}
