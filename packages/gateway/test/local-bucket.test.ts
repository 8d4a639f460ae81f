import { describe, expect, it } from 'vitest';
import { LocalBucket } from '../src/local-bucket';

describe('LocalBucket', () => {
  it('grants the burst, then one token per 1/rate seconds, and says how long to wait', () => {
    const b = new LocalBucket(0.5, 3);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(2000);
    expect(b.take(1000)).toBe(1000); // half a token refilled; nothing taken
    expect(b.take(2000)).toBe(0);
    expect(b.take(2000)).toBe(2000);
    // never more than the burst, however long it waited
    for (let i = 0; i < 3; i++) expect(b.take(1_000_000)).toBe(0);
    expect(b.take(1_000_000)).toBeGreaterThan(0);
  });
});
