/**
 * Static checks on every Lua script: the header documents every KEYS/ARGV entry and return
 * code, the file name's key count matches, no script reaches outside its declared keys' slot
 * (no KEYS/SCAN calls, derived keys only from tagBase), and the generated typed descriptors
 * (script-defs.gen.ts) match the headers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCRIPTS } from '../src/script-defs.gen';
import { parseScriptHeader } from '../src/script-header';
import { inlineConstants, LUA_DIR, loadScripts } from '../src/scripts';
import { renderScriptDefs, SCRIPT_DEFS_FILE } from '../src/write-script-defs';

const loaded = loadScripts();

describe('Lua scripts', () => {
  it('inlines job fields and key suffixes as literals; an unknown name fails at load', () => {
    expect(inlineConstants("redis.call('HGET', k, F.state) -- F.node")).toBe(
      "redis.call('HGET', k, 'state') -- 'node'",
    );
    expect(() => inlineConstants('return F.nope', 'x-1.lua')).toThrow('x-1.lua: F.nope is not defined');
    expect(() => inlineConstants('return K.nope')).toThrow('K.nope');
    // No script keeps a table lookup for them.
    for (const s of loadScripts()) expect(s.lua, s.file).not.toMatch(/\b[FK]\.\w/);
  });

  it('the committed script-defs.gen.ts matches the headers (run `npm run scripts:gen`)', () => {
    expect(readFileSync(SCRIPT_DEFS_FILE, 'utf8')).toBe(renderScriptDefs());
    expect(Object.keys(SCRIPTS).sort()).toEqual(loaded.map((s) => s.name).sort());
  });

  it.each(loaded.map((s) => [s.file, s] as const))('%s: header, keys and slot discipline', (file, s) => {
    const source = readFileSync(join(LUA_DIR, file), 'utf8');
    const header = source.slice(0, source.indexOf(']]'));
    const h = parseScriptHeader(file, source);
    expect(h.numberOfKeys).toBe(s.numberOfKeys);
    expect(header).toMatch(/ARGV\[1\]|ARGV\s+\(none\)/);
    expect(header).toMatch(/Returns/);
    expect(s.lua).not.toMatch(/--@include/); // every include expanded
    // No keyspace scans (they cannot be routed in a Cluster); a member scan only of a declared key.
    expect(s.lua).not.toMatch(/redis\.p?call\(\s*'(KEYS|SCAN)'/i);
    for (const m of s.lua.matchAll(/redis\.p?call\(\s*'(SSCAN|HSCAN|ZSCAN)',\s*([^,]+),/gi))
      expect(m[2], `${m[1]} of a key not in KEYS`).toMatch(/^(KEYS\[\d+\]|\w+_key|\w+Key)$/);
    // Only declared keys are used directly; everything else derives from their tag base.
    for (const m of s.lua.matchAll(/KEYS\[(\d+)\]/g))
      expect(Number(m[1])).toBeLessThanOrEqual(s.numberOfKeys);
    expect(s.lua).not.toMatch(/KEYS\[\w*[^\d\]]/); // no computed KEYS index
    // Every negative return code is documented in the header.
    for (const m of s.lua.matchAll(/return (-\d+)/g)) expect(header).toContain(`${m[1]} `);
  });

  it('parses several entries per line, ranges, and rejects gaps and wrong key counts', () => {
    const src = (body: string) => `--[[\n${body}\n  Returns: 1\n]]\nreturn 1\n`;
    const h = parseScriptHeader(
      'demo-thing-2.lua',
      src(
        '  KEYS[1]  a hash   KEYS[2] b set\n  ARGV[1]  id   ARGV[2] now (ARGV[1] is prose)\n  ARGV[3..] ids',
      ),
    );
    expect(h).toMatchObject({ name: 'demoThing', keys: ['a hash', 'b set'], rest: 'ids' });
    expect(h.args).toEqual(['id', 'now (ARGV[1] is prose)']);
    expect(() => parseScriptHeader('x-2.lua', src('  KEYS[1]  a'))).toThrow(/2 keys/);
    expect(() => parseScriptHeader('x-0.lua', src('  ARGV[2]  b'))).toThrow(/ARGV\[1\] is not documented/);
  });
});
