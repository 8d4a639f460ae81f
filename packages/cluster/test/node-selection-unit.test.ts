/** Pure parts of node selection (the Lua scripts' static checks are in scripts.test.ts). */
import { describe, expect, it } from 'vitest';
import { parseReservationId } from '../src/node-registry';
import { candidateCells } from '../src/select-node';

describe('candidateCells', () => {
  it('puts the affinity cell first and never repeats a cell', () => {
    const order = candidateCells([3, 1, 2, 3, 7], 'job-1', 2);
    expect(order[0]).toBe(2);
    expect([...order].sort()).toEqual([1, 2, 3, 7]);
  });

  it('rotates the start by hash(jobId), so jobs spread over cells deterministically', () => {
    const starts = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const order = candidateCells([0, 1, 2, 3], `job-${i}`);
      expect([...order].sort()).toEqual([0, 1, 2, 3]);
      expect(candidateCells([3, 2, 1, 0], `job-${i}`)).toEqual(order); // input order is irrelevant
      starts.add(order[0]!);
    }
    expect(starts.size).toBe(4);
  });

  it('handles no hinted cells', () => {
    expect(candidateCells([], 'j')).toEqual([]);
    expect(candidateCells([], 'j', 5)).toEqual([5]);
  });
});

describe('reservation ids', () => {
  it('splits "<jobId>|<attempt>"', () => {
    expect(parseReservationId('job-7|3')).toEqual({ jobId: 'job-7', attempt: 3 });
  });
});
