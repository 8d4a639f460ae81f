/**
 * Lua script loader, BullMQ style: every file in `lua/` is `name-<numKeys>.lua`, with a
 * header documenting KEYS/ARGV/returns. `--@include "file"` lines pull shared helpers from
 * `lua/includes/` at load time, and generated tables `K` (key suffixes from keys.ts) and `FSM`
 * (job-fsm.ts) are prepended so key names and transitions live in one place. Scripts are registered once per connection with
 * `defineCommand`, which runs EVALSHA and reloads on NOSCRIPT (survives Redis restarts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { checkScriptResult } from './errors';
import { fsmLuaTable } from './job-fsm';
import { LUA_KEY_SUFFIXES } from './keys';
import { runtimeDir } from './runtime-paths';

/** <repo>/lua from source; dist/lua in a build (copied by scripts/build.ts). */
export const LUA_DIR = runtimeDir(import.meta.url, '../../../lua', 'lua');

export interface LoadedScript {
  /** camelCase command name, e.g. `selectNode` for select-node-2.lua */
  name: string;
  file: string;
  numberOfKeys: number;
  lua: string;
}

const INCLUDE_RE = /^--@include\s+"([^"]+)"\s*$/gm;

function camel(s: string): string {
  return s.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Generated prelude: key suffixes (table K) and, for scripts that use it, the job FSM (table
 * FSM), from their one TS home. A script pays for building these tables on every call.
 */
function prelude(body: string): string {
  const entries = Object.entries(LUA_KEY_SUFFIXES).map(([k, v]) => `${k} = '${v}'`);
  return `local K = { ${entries.join(', ')} }\n${/\bFSM\b/.test(body) ? fsmLuaTable() : ''}`;
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
    const body = expandIncludes(source, dir, new Set());
    const lua = prelude(body) + body;
    out.push({ name: camel(m[1]!), file, numberOfKeys: Number(m[2]), lua });
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

export type ScriptArg = string | number | Buffer;

/**
 * Runs a registered script and maps negative return codes to LinguaScriptError.
 * Every typed wrapper (node-registry.ts, jobs.ts, ...) goes through here.
 */
export async function runScript<T = unknown>(
  redis: Redis | Cluster,
  name: string,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<T> {
  registerScripts(redis);
  const fn = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[name];
  if (typeof fn !== 'function') throw new Error(`unknown Lua script ${name}`);
  const result = await fn.call(redis, ...keys, ...args);
  return checkScriptResult(name.replace(/Buffer$/, ''), result) as T;
}

/** Like runScript, but bulk replies come back as Buffers (binary result blobs). */
export async function runScriptBuffer<T = unknown>(
  redis: Redis | Cluster,
  name: string,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<T> {
  return runScript<T>(redis, `${name}Buffer`, keys, args);
}
