/**
 * Lua script loader, BullMQ style: every file in `lua/` is `name-<numKeys>.lua`, with a
 * header documenting KEYS/ARGV/returns. `--@include "file"` lines pull shared helpers from
 * `lua/includes/` at load time, and generated Lua is added so each fact lives in one place:
 * `K.<suffix>` (keys.ts) and `F.<field>` (job-model.ts) are inlined as string literals; the
 * prelude defines `fsmAllows` (job-fsm.ts), `LIVE`/`WAITING`/`xaddJobEvent` (job-model.ts) and
 * `tagBase`. Scripts are registered once per connection with `defineCommand`, which runs EVALSHA and reloads on NOSCRIPT (survives Redis restarts).
 *
 * KEYS convention: a script declares in KEYS every key known before it runs (Redis Cluster
 * routes by them, and moves slots by them during resharding); keys it derives inside (e.g. a
 * node hash picked from a pool) are built with `tagBase(KEYS[1]) .. K.<suffix> ..` and so share
 * the hash tag of the declared keys.
 *
 * Callers never name a script by string: `runScript(redis, SCRIPTS.jobCreate, keys, args)`
 * with SCRIPTS generated from the headers (script-defs.gen.ts), so the number of keys and
 * arguments is checked by the compiler.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { checkScriptResult } from './errors';
import { fsmLuaSource } from './job-fsm';
import { JOB_FIELDS, JOB_MODEL_LUA } from './job-model';
import { LUA_KEY_SUFFIXES } from './keys';
import { runtimeDir } from './runtime-paths';
import { camelName } from './script-header';

/** <repo>/lua from source; dist/lua in a build (copied by scripts/build.ts). */
export const LUA_DIR = runtimeDir(import.meta.url, '../../../lua', 'lua');

export interface LoadedScript {
  /** camelCase command name, e.g. `selectNode` for select-node-5.lua */
  name: string;
  file: string;
  numberOfKeys: number;
  lua: string;
}

/** A script as described by its header (generated into script-defs.gen.ts). */
export interface ScriptDef {
  readonly name: string;
  readonly file: string;
  /** descriptions of KEYS[1..n]; the tuple length types the keys argument */
  readonly keys: readonly string[];
  /** descriptions of ARGV[1..n] */
  readonly args: readonly string[];
  /** description of any number of further arguments after the documented ones, or false */
  readonly rest: string | false;
}

export type ScriptArg = string | number | Buffer;

type Tuple<T extends readonly unknown[], V> = { -readonly [I in keyof T]: V };
export type ScriptKeys<D extends ScriptDef> = Tuple<D['keys'], string>;
export type ScriptArgs<D extends ScriptDef> = D['rest'] extends string
  ? [...Tuple<D['args'], ScriptArg>, ...ScriptArg[]]
  : Tuple<D['args'], ScriptArg>;

const INCLUDE_RE = /^--@include\s+"([^"]+)"\s*$/gm;

/** `prefix{tag}:` of a declared key, to build the keys a script derives inside (same slot). */
const TAG_BASE_LUA = `local function tagBase(key)
  local i = string.find(key, '}', 1, true)
  return string.sub(key, 1, i + 1)
end
`;

/**
 * Generated prelude: only what the script uses (it pays for building these on every call).
 */
function prelude(body: string): string {
  const uses = (name: string) => new RegExp(`\\b${name}\\b`).test(body);
  let out = '';
  if (uses('fsmAllows')) out += fsmLuaSource();
  for (const [name, lua] of Object.entries(JOB_MODEL_LUA)) if (uses(name)) out += lua;
  if (uses('tagBase')) out += TAG_BASE_LUA;
  return out;
}

/**
 * `K.<suffix>` (keys.ts) and `F.<field>` (the job model) become string literals at load time:
 * no table is built per call, and a name that does not exist fails here, not at run time.
 */
export function inlineConstants(body: string, file = 'script'): string {
  const table = (name: string, values: Record<string, string>) => (_: string, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${file}: ${name}.${key} is not defined`);
    return `'${v}'`;
  };
  return body
    .replace(/\bK\.(\w+)/g, table('K', LUA_KEY_SUFFIXES))
    .replace(/\bF\.(\w+)/g, table('F', JOB_FIELDS));
}

function expandIncludes(source: string, dir: string, seen: Set<string>): string {
  return source.replace(INCLUDE_RE, (_, file: string) => {
    const name = file.endsWith('.lua') ? file : `${file}.lua`;
    if (seen.has(name)) return ''; // include each helper once
    seen.add(name);
    const body = readFileSync(join(dir, 'includes', name), 'utf8');
    return expandIncludes(body, dir, seen);
  });
}

export function loadScripts(dir = LUA_DIR): LoadedScript[] {
  const out: LoadedScript[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = /^(.+)-(\d+)\.lua$/.exec(file);
    if (!m) continue;
    const source = readFileSync(join(dir, file), 'utf8');
    const body = inlineConstants(expandIncludes(source, dir, new Set()), file);
    const lua = prelude(body) + body;
    out.push({ name: camelName(m[1]!), file, numberOfKeys: Number(m[2]), lua });
  }
  return out;
}

let cached: LoadedScript[] | undefined;

/** Registers every script on a connection (idempotent: once per connection object). */
export function registerScripts(redis: Redis | Cluster): void {
  const marker = redis as unknown as { __linguaScripts?: boolean };
  if (marker.__linguaScripts) return;
  cached ??= loadScripts();
  for (const s of cached) {
    redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
  marker.__linguaScripts = true;
}

/**
 * Test-only fault injection, read once at start (never set in production):
 *  - LINGUA_FAULT_RESEND=name[,name]: every call of these scripts runs twice and returns the
 *    second answer, as when ioredis re-sends a script whose reply was lost;
 *  - LINGUA_FAULT_KILL_AFTER=name[:n]: SIGKILL this process right after the n-th (default 1st)
 *    call of that script returned, before the caller's follow-up.
 */
const FAULT_RESEND = new Set((process.env.LINGUA_FAULT_RESEND ?? '').split(',').filter(Boolean));
const FAULT_KILL = /^(\w+)(?::(\d+))?$/.exec(process.env.LINGUA_FAULT_KILL_AFTER ?? '');
let faultKillCount = 0;

/**
 * A fused script (one script for two steps on a single Redis) answers to the names of its
 * parts too, so a fault aimed at a step hits it whichever way the step runs.
 */
const FUSED_PARTS: Record<string, readonly string[]> = {
  selectCreate: ['selectNode', 'jobCreate'],
  completeRelease: ['jobComplete', 'releaseSlot'],
};
const faultNamed = (name: string, target: string) => name === target || !!FUSED_PARTS[name]?.includes(target);
const resendFault = (name: string) => [...FAULT_RESEND].some((t) => faultNamed(name, t));

function afterScript(name: string): void {
  if (FAULT_KILL && faultNamed(name, FAULT_KILL[1]!) && ++faultKillCount === Number(FAULT_KILL[2] ?? 1)) {
    process.kill(process.pid, 'SIGKILL');
  }
}

/**
 * Redis Cluster refusing to run a script on this node right now: its slot is moving (ASK,
 * TRYAGAIN), has moved (MOVED), or the cluster is failing over (CLUSTERDOWN); or ioredis
 * refusing to send an auto-pipelined batch built on a slot map that changed meanwhile. The
 * script did not run, so running it again is always safe. ioredis follows redirections itself
 * for a command sent alone, but not inside an auto-pipelined batch mixed with other commands.
 */
const REDIRECTED =
  /^(ASK|MOVED|TRYAGAIN|CLUSTERDOWN)\b|^All keys in the pipeline should belong to the same slots/;
const REDIRECT_RETRIES = 6; // 25 ms doubling: ~1.6 s, longer than a slot's SETSLOT NODE step

async function call(
  redis: Redis | Cluster,
  command: string,
  keys: readonly string[],
  args: readonly ScriptArg[],
) {
  registerScripts(redis);
  const fn = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[command];
  if (typeof fn !== 'function') throw new Error(`unknown Lua script ${command}`);
  for (let i = 0; ; i++) {
    try {
      return await fn.call(redis, ...keys, ...args);
    } catch (err) {
      const msg = err instanceof Error ? err.message : '';
      if (i >= REDIRECT_RETRIES || !REDIRECTED.test(msg)) throw err;
      if (msg.startsWith('MOVED') && 'refreshSlotsCache' in redis) redis.refreshSlotsCache();
      await new Promise((r) => setTimeout(r, 25 * 2 ** i));
    }
  }
}

/**
 * Runs a registered script and maps negative return codes to LinguaScriptError.
 * Every typed wrapper (node-registry.ts, jobs.ts, ...) goes through here.
 */
export async function runScript<T = unknown, D extends ScriptDef = ScriptDef>(
  redis: Redis | Cluster,
  def: D,
  keys: ScriptKeys<D>,
  args: ScriptArgs<D>,
  opts: { buffers?: boolean } = {},
): Promise<T> {
  const command = opts.buffers ? `${def.name}Buffer` : def.name;
  if (FAULT_RESEND.size && resendFault(def.name)) await call(redis, command, keys, args).catch(() => {});
  const result = await call(redis, command, keys, args);
  afterScript(def.name);
  return checkScriptResult(def.name, result) as T;
}

/** Like runScript, but bulk replies come back as Buffers (binary result blobs). */
export async function runScriptBuffer<T = unknown, D extends ScriptDef = ScriptDef>(
  redis: Redis | Cluster,
  def: D,
  keys: ScriptKeys<D>,
  args: ScriptArgs<D>,
): Promise<T> {
  return runScript<T, D>(redis, def, keys, args, { buffers: true });
}
