/**
 * Pure parts of node selection, and static checks on the node-cell Lua scripts
 * (header documents KEYS/ARGV/returns; no KEYS/SCAN; every key built from the tag base).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReservationId } from '../src/node-registry';
import { LUA_DIR, loadScripts } from '../src/scripts';
import { candidateCells } from '../src/select-node';

const CELL_SCRIPTS = [
  'register-node-1.lua',
  'node-heartbeat-1.lua',
  'select-node-1.lua',
  'confirm-lease-1.lua',
  'release-slot-1.lua',
  'node-offline-1.lua',
  'set-draining-1.lua',
  'reap-leases-1.lua',
  'reap-stale-nodes-1.lua',
];

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

describe('node-cell Lua scripts', () => {
  const loaded = new Map(loadScripts().map((s) => [s.file, s]));

  it.each(CELL_SCRIPTS)('%s documents KEYS, ARGV and returns, and stays inside its cell', (file) => {
    const source = readFileSync(join(LUA_DIR, file), 'utf8');
    const header = source.slice(0, source.indexOf(']]'));
    expect(header).toMatch(/KEYS\[1\]\s+cell tag base/);
    expect(header).toMatch(/ARGV\[1\]/);
    expect(header).toMatch(/Returns/);
    const lua = loaded.get(file)?.lua ?? '';
    expect(lua).not.toMatch(/--@include/); // every include expanded
    expect(lua).not.toMatch(/redis\.p?call\(\s*'(KEYS|SCAN|SSCAN|HSCAN|ZSCAN)'/i);
    // Only KEYS[1] is used: every key is the cell tag base plus a suffix from K.
    expect(lua.match(/KEYS\[(\d+)\]/g)?.every((k) => k === 'KEYS[1]')).toBe(true);
    // Every negative return code is documented in the header.
    for (const m of lua.matchAll(/return (-\d+)/g)) expect(header).toContain(`${m[1]} `);
  });
});
