import { describe, expect, it } from 'vitest';
import { type OrderedItem, ResultOrderer } from '../src/result-order';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const result = (index: number): OrderedItem<string> => ({ index, kind: 'result', payload: `r${index}` });
const missing = (index: number): OrderedItem<string> => ({ index, kind: 'missing', payload: `m${index}` });
const indices = (items: OrderedItem<string>[]) => items.map((i) => i.index);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const GAP = 1000;

describe('ResultOrderer: ordering', () => {
  it('in order: each push delivers itself', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    for (let i = 0; i < 5; i++)
      expect(o.push(result(i), i)).toEqual({ status: 'delivered', deliver: [result(i)] });
    expect(o.nextIndex).toBe(5);
    expect(o.held).toBe(0);
    expect(o.nextDeadline()).toBeNull();
  });

  it('has(index): true once the outcome is delivered or held, false for an open index', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    o.push(result(0), 0);
    o.push(result(2), 0);
    expect([0, 1, 2, 3].map((i) => o.has(i))).toEqual([true, false, true, false]);
    o.push(missing(1), 0);
    expect([0, 1, 2, 3].map((i) => o.has(i))).toEqual([true, true, true, false]);
  });

  it('reversed: everything is held until 0 arrives, then delivered in order', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    for (let i = 9; i > 0; i--) expect(o.push(result(i), 0)).toEqual({ status: 'held', deliver: [] });
    expect(o.held).toBe(9);
    const out = o.push(result(0), 0);
    expect(out.status).toBe('delivered');
    expect(out.deliver).toEqual(range(10).map(result));
    expect(o.held).toBe(0);
    expect(o.nextIndex).toBe(10);
  });

  it('random permutations with redeliveries deliver 0..n-1 exactly once, in order', () => {
    for (let trial = 0; trial < 100; trial++) {
      const rand = mulberry32(trial);
      const n = 1 + Math.floor(rand() * 60);
      const pushes = range(n);
      const redeliveries = Math.floor(rand() * n);
      for (let k = 0; k < redeliveries; k++) pushes.push(Math.floor(rand() * n));
      const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
      const delivered = shuffle(pushes, rand).flatMap((i, t) => o.push(result(i), t).deliver);
      expect(indices(delivered)).toEqual(range(n));
      expect(o.dropped).toBe(redeliveries);
      expect(o.held).toBe(0);
    }
  });

  it('drops duplicates: already delivered or already held', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    o.push(result(0), 0);
    o.push(result(2), 0);
    expect(o.push(result(0), 0)).toEqual({ status: 'duplicate', deliver: [] });
    expect(o.push(result(2), 0)).toEqual({ status: 'duplicate', deliver: [] });
    expect(o.dropped).toBe(2);
    expect(o.held).toBe(1);
  });

  it('resume: starts at nextIndex, earlier indices are duplicates', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP, nextIndex: 5 });
    expect(o.nextIndex).toBe(5);
    expect(o.push(result(4), 0).status).toBe('duplicate');
    expect(o.push(result(6), 0).status).toBe('held');
    expect(indices(o.push(result(5), 0).deliver)).toEqual([5, 6]);
  });
});

describe('ResultOrderer: gaps', () => {
  it('declares a gap missing after gapTimeoutMs from the later arrival, not before', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    expect(o.tick(0)).toEqual({ declareMissing: [] });
    o.push(result(2), 100);
    o.push(result(3), 600); // a later arrival does not restart the clock
    expect(o.nextDeadline()).toBe(1100);
    expect(o.tick(1099)).toEqual({ declareMissing: [] });
    expect(o.tick(1100)).toEqual({ declareMissing: [0, 1] });
  });

  it('does not name an index again until gapTimeoutMs passed again (retry if persisting failed)', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    o.push(result(1), 0);
    expect(o.tick(1000).declareMissing).toEqual([0]);
    expect(o.nextDeadline()).toBe(2000);
    expect(o.tick(1500).declareMissing).toEqual([]);
    expect(o.tick(1999).declareMissing).toEqual([]);
    expect(o.tick(2000).declareMissing).toEqual([0]);
  });

  it('pushing the missing marker releases the held later items', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    o.push(result(1), 0);
    o.push(result(2), 0);
    expect(o.tick(GAP).declareMissing).toEqual([0]);
    const out = o.push(missing(0), GAP + 5);
    expect(out).toEqual({ status: 'delivered', deliver: [missing(0), result(1), result(2)] });
    expect(o.nextDeadline()).toBeNull();
    expect(o.tick(10 * GAP).declareMissing).toEqual([]);
  });

  it('the winner may be the real result: the caller pushes it and it is delivered normally', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    o.push(result(1), 0);
    expect(o.tick(GAP).declareMissing).toEqual([0]);
    expect(indices(o.push(result(0), GAP + 1).deliver)).toEqual([0, 1]);
  });

  it('a late real result after the missing marker is dropped', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    o.push(result(1), 0);
    o.tick(GAP);
    o.push(missing(0), GAP);
    expect(o.push(result(0), GAP + 10)).toEqual({ status: 'duplicate', deliver: [] });
    expect(o.dropped).toBe(1);
  });

  it('gaps between held items are timed from the earliest later arrival', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
    o.push(result(1), 0);
    o.push(result(5), 300);
    expect(o.nextDeadline()).toBe(1000);
    expect(o.tick(1000).declareMissing).toEqual([0]);
    expect(o.nextDeadline()).toBe(1300);
    expect(o.tick(1300).declareMissing).toEqual([2, 3, 4]);
    expect(indices(o.push(missing(0), 1300).deliver)).toEqual([0, 1]);
    const rest = [2, 3, 4].flatMap((i) => o.push(missing(i), 1301).deliver);
    expect(indices(rest)).toEqual([2, 3, 4, 5]);
    expect(o.nextIndex).toBe(6);
  });

  it('simulated session: lost results become missing markers, everything else in order', () => {
    for (let trial = 0; trial < 30; trial++) {
      const rand = mulberry32(500 + trial);
      const n = 40;
      const lost = new Set(range(n).filter(() => rand() < 0.2));
      lost.delete(n - 1); // the last one arrives, so every gap has a later result
      // Arrival times: roughly increasing with jitter; lost ones never arrive.
      const arrivals = range(n)
        .filter((i) => !lost.has(i))
        .map((i) => ({ i, at: i * 50 + Math.floor(rand() * 400) }))
        .sort((a, b) => a.at - b.at);
      const o = new ResultOrderer<string>({ gapTimeoutMs: GAP });
      const log = new Map<number, OrderedItem<string>>(); // first writer wins
      const delivered: OrderedItem<string>[] = [];
      let k = 0;
      for (let now = 0; now <= 20_000 && o.nextIndex < n; now += 25) {
        for (; k < arrivals.length && arrivals[k]!.at <= now; k++) {
          const { i } = arrivals[k]!;
          if (!log.has(i)) log.set(i, result(i));
          delivered.push(...o.push(log.get(i)!, now).deliver);
        }
        const deadline = o.nextDeadline();
        if (deadline !== null && deadline <= now) {
          for (const i of o.tick(now).declareMissing) {
            if (!log.has(i)) log.set(i, missing(i));
            delivered.push(...o.push(log.get(i)!, now).deliver);
          }
        }
      }
      expect(indices(delivered)).toEqual(range(n));
      expect(delivered.filter((d) => d.kind === 'missing').map((d) => d.index)).toEqual(
        [...lost].sort((a, b) => a - b),
      );
    }
  });
});

describe('ResultOrderer: bounded memory', () => {
  it('overflow beyond the window: item not taken, gaps due now, then re-push works', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP, maxHeld: 4 });
    for (const i of [1, 2, 3]) expect(o.push(result(i), 0).status).toBe('held');
    expect(o.push(result(4), 10)).toEqual({ status: 'overflow', deliver: [] });
    expect(o.held).toBe(3);
    expect(o.nextDeadline()).toBe(10);
    expect(o.tick(10).declareMissing).toEqual([0]);
    expect(indices(o.push(missing(0), 11).deliver)).toEqual([0, 1, 2, 3]);
    expect(o.push(result(4), 12).deliver).toEqual([result(4)]);
    expect(o.dropped).toBe(0);
  });

  it('an item far ahead declares the whole window, one window per round', () => {
    const o = new ResultOrderer<string>({ gapTimeoutMs: GAP, maxHeld: 4 });
    const far = result(9);
    expect(o.push(far, 0).status).toBe('overflow');
    let now = 0;
    let pending = true; // `far` not taken yet
    const delivered: OrderedItem<string>[] = [];
    const rounds: number[][] = [];
    while (o.nextIndex < 10 && rounds.length < 5) {
      const { declareMissing } = o.tick(now);
      rounds.push(declareMissing);
      for (const i of declareMissing) delivered.push(...o.push(missing(i), now).deliver);
      if (pending) {
        const again = o.push(far, now);
        delivered.push(...again.deliver);
        pending = again.status === 'overflow';
      }
      now += 1; // no gapTimeoutMs wait anywhere
    }
    expect(rounds).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8]]);
    expect(indices(delivered)).toEqual(range(10));
    expect(delivered.at(-1)).toBe(far);
    expect(o.nextDeadline()).toBeNull();
  });

  it('rejects invalid options and indices', () => {
    expect(() => new ResultOrderer({ gapTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new ResultOrderer({ gapTimeoutMs: 1, maxHeld: 0 })).toThrow(RangeError);
    expect(() => new ResultOrderer({ gapTimeoutMs: 1, nextIndex: -1 })).toThrow(RangeError);
    expect(() => new ResultOrderer<string>({ gapTimeoutMs: 1 }).push(result(0.5), 0)).toThrow(RangeError);
  });
});
