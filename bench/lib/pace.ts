/** Open-loop pacing shared by the bench drivers (the same scheme as LoadRig.run). */

/** Wall-clock ms comparable across processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/**
 * Calls `send(i)` for i = 0..rate*seconds-1 at `rate` per second from a 1-ms timer. Open
 * loop: a late tick sends everything that is due, so a slow sender shows up as latency.
 */
export function paced(rate: number, seconds: number, send: (i: number) => void): Promise<number> {
  const total = Math.round(rate * seconds);
  let sent = 0;
  const start = performance.now();
  return new Promise((done) => {
    if (total <= 0) return done(0);
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) send(sent++);
      if (sent >= total) {
        clearInterval(timer);
        done(sent);
      }
    }, 1);
  });
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
