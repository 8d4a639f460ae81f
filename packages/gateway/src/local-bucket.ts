/**
 * A token bucket owned by one connection (pure; the caller passes the time). For decisions that
 * concern only that connection, so no Redis round trip: e.g. how often a session may change its
 * room membership, each change fanning out to every member's instance.
 */
export class LocalBucket {
  private tokens: number;
  private at: number | undefined;

  constructor(
    /** tokens added per second */
    private readonly ratePerS: number,
    /** most tokens held (and the start) */
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token: 0 when granted, else how many ms until one is there (nothing taken). */
  take(now: number): number {
    if (this.at !== undefined) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.ratePerS);
    }
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.ratePerS) * 1000);
  }
}
