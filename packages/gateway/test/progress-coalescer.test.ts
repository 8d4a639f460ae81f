import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PendingProgress, ProgressCoalescer } from '../src/progress-coalescer';

describe('ProgressCoalescer', () => {
  let written: PendingProgress[];
  const write = async (p: PendingProgress) => {
    written.push(p);
  };
  beforeEach(() => {
    written = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('writes a record after the window, and none for an attempt answered inside it', async () => {
    const c = new ProgressCoalescer(25, write);
    await c.record({ jobId: 's.0', attempt: 1, to: 'accepted', at: 1 });
    await c.record({ jobId: 's.1', attempt: 1, to: 'accepted', at: 2 });
    c.settled('s.0', 1); // answered before the window ended
    expect(written).toEqual([]);
    await vi.advanceTimersByTimeAsync(25);
    expect(written).toEqual([{ jobId: 's.1', attempt: 1, to: 'accepted', at: 2 }]);
    expect(c.size).toBe(0);
  });

  it('keeps the later state of an attempt; attempts are apart', async () => {
    const c = new ProgressCoalescer(25, write);
    await c.record({ jobId: 's.0', attempt: 1, to: 'accepted', at: 1 });
    await c.record({ jobId: 's.0', attempt: 1, to: 'running', at: 2 });
    await c.record({ jobId: 's.0', attempt: 1, to: 'accepted', at: 3 }); // out of date: ignored
    await c.record({ jobId: 's.0', attempt: 2, to: 'accepted', at: 4 });
    c.settled('s.0', 2);
    await vi.advanceTimersByTimeAsync(25);
    expect(written).toEqual([{ jobId: 's.0', attempt: 1, to: 'running', at: 2 }]);
  });

  it('window 0 writes at once; clear() drops what is pending; a full buffer is written at once', async () => {
    const now = new ProgressCoalescer(0, write);
    await now.record({ jobId: 's.0', attempt: 1, to: 'accepted', at: 1 });
    expect(written).toHaveLength(1);
    const c = new ProgressCoalescer(25, write);
    await c.record({ jobId: 's.1', attempt: 1, to: 'accepted', at: 1 });
    c.clear();
    await vi.advanceTimersByTimeAsync(50);
    expect(written).toHaveLength(1);
    for (let i = 0; i < 4096; i++) await c.record({ jobId: `s.${i}`, attempt: 1, to: 'accepted', at: i });
    expect(written).toHaveLength(1 + 4096);
    expect(c.size).toBe(0);
  });
});
