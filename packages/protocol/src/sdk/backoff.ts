/** Reconnect delays: exponential from `initialMs`, capped at `maxMs`, minus up to `jitter` of it. */
export interface BackoffOptions {
  /** First delay (default 100 ms). */
  initialMs?: number;
  /** Cap (default 5000 ms). */
  maxMs?: number;
  /** Fraction 0..1 of the delay that is randomly taken off, so clients do not reconnect in lockstep (default 0.2). */
  jitter?: number;
}

export const BACKOFF_DEFAULTS = { initialMs: 100, maxMs: 5000, jitter: 0.2 } as const;

/** Delay before reconnect attempt `attempt` (0 = first retry after a drop). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = Math.max(0, opts.initialMs ?? BACKOFF_DEFAULTS.initialMs);
  const max = Math.max(initial, opts.maxMs ?? BACKOFF_DEFAULTS.maxMs);
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? BACKOFF_DEFAULTS.jitter));
  const base = Math.min(max, initial * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(base * (1 - jitter * random()));
}
