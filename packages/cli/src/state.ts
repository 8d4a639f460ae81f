/**
 * The running local cluster's facts (`.lingua/cluster.json` at the repo root, or under
 * LINGUA_STATE_DIR), written by `lingua up` so that `lingua status` and `lingua dlq` find its
 * private Redis without flags. No secrets are stored.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runtimeDir } from '@lingua/cluster';

/** The checkout (from source), or the directory holding dist/ (a build, e.g. /app in the image). */
export const REPO_ROOT = runtimeDir(import.meta.url, '../../..', '..');

export interface LocalClusterState {
  pid: number;
  started: number;
  host: string;
  ports: number[];
  httpUrl: string;
  redisUrl: string;
  prefix: string;
  cells: number;
  shards: number;
  pids: Record<string, number>;
  logDir: string;
}

export function stateFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.LINGUA_STATE_DIR || join(REPO_ROOT, '.lingua'), 'cluster.json');
}

export function writeState(state: LocalClusterState, file = stateFile()): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A JSON file written by a `lingua up` (`pid`), if that process still runs; else null. */
export function readIfOwnerAlive<T extends { pid: number }>(file: string): T | null {
  if (!existsSync(file)) return null;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as T;
    return s && typeof s.pid === 'number' && alive(s.pid) ? s : null;
  } catch {
    return null;
  }
}

/** The state of a `lingua up` that is still running, or null. */
export function readState(file = stateFile()): LocalClusterState | null {
  return readIfOwnerAlive<LocalClusterState>(file);
}

/** Removes the file if it still describes this process's cluster. */
export function clearState(pid = process.pid, file = stateFile()): void {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as LocalClusterState;
    if (s.pid === pid) rmSync(file, { force: true });
  } catch {
    // absent or unreadable: nothing to clear
  }
}
