/**
 * Reads the header of a Lua script (the leading `--[[ … ]]` block): every `KEYS[i]` and
 * `ARGV[i]` with its description (several per line, separated by two or more spaces;
 * `ARGV[i..]` = the rest), so typed wrappers can be generated from it (script-defs.gen.ts).
 * Pure.
 */

export interface ScriptHeader {
  /** camelCase name, e.g. `jobCreate` for job-create-5.lua */
  name: string;
  file: string;
  /** from the file name */
  numberOfKeys: number;
  /** descriptions of KEYS[1..n] */
  keys: string[];
  /** descriptions of ARGV[1..n] */
  args: string[];
  /** description of `ARGV[i..]` (any number of further arguments), or false */
  rest: string | false;
}

// An entry starts a line or follows two spaces (prose like "(ARGV[3] empty)" is not one).
const ENTRY_RE =
  /(?:^[ \t]*|[ \t]{2,})(KEYS|ARGV)\[(\d+)(\.\.\w*)?\][ \t]+(.*?)(?=[ \t]{2,}(?:KEYS|ARGV)\[|[ \t]*$)/gm;

export function camelName(base: string): string {
  return base.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Parses `name-<numKeys>.lua` and its header; throws with the file name on a gap or mismatch. */
export function parseScriptHeader(file: string, source: string): ScriptHeader {
  const m = /^(.+)-(\d+)\.lua$/.exec(file);
  if (!m) throw new Error(`${file}: not named name-<numKeys>.lua`);
  const start = source.indexOf('--[[');
  const end = source.indexOf(']]', start);
  if (start !== 0 || end < 0) throw new Error(`${file}: no --[[ header ]] at the top`);
  const header = source.slice(start + 4, end);
  const keys: string[] = [];
  const args: string[] = [];
  let rest: string | false = false;
  let restAt = 0;
  for (const e of header.matchAll(ENTRY_RE)) {
    const list = e[1] === 'KEYS' ? keys : args;
    const i = Number(e[2]);
    if (e[3] && e[1] === 'ARGV') {
      rest = e[4]!.trim();
      restAt = i;
      continue;
    }
    if (list[i - 1] !== undefined) throw new Error(`${file}: ${e[1]}[${i}] documented twice`);
    list[i - 1] = e[4]!.trim();
  }
  if (rest !== false && restAt !== args.length + 1) {
    throw new Error(`${file}: ARGV[${restAt}..] must follow the last single ARGV entry`);
  }
  for (const [what, list] of [
    ['KEYS', keys],
    ['ARGV', args],
  ] as const) {
    for (let i = 0; i < list.length; i++) {
      if (list[i] === undefined) throw new Error(`${file}: ${what}[${i + 1}] is not documented`);
    }
  }
  const numberOfKeys = Number(m[2]);
  if (keys.length !== numberOfKeys) {
    throw new Error(`${file}: the name says ${numberOfKeys} keys, the header documents ${keys.length}`);
  }
  return { name: camelName(m[1]!), file, numberOfKeys, keys, args, rest };
}
