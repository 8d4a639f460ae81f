/**
 * The processes Lingua starts: one table of entry points, used by `npm run build` (one bundle
 * per entry in dist/) and by `lingua up` / `lingua drill` to spawn gateways and simulated
 * nodes: the bundle next to this one in a build, the TypeScript source through tsx otherwise.
 */
import { join } from 'node:path';
import { runningFromSource, runtimeDir } from '@lingua/cluster';
import { REPO_ROOT } from './state';

/** Bundle name (dist/<name>.js) → TypeScript source, relative to the repository root. */
export const ENTRY_POINTS = {
  gateway: 'packages/gateway/src/main.ts',
  'sim-node': 'packages/node-sdk/src/sim-main.ts',
  lingua: 'packages/cli/src/main.ts',
} as const;

export type EntryName = keyof typeof ENTRY_POINTS;

/** Command line that runs an entry point with this Node (no wrapper process in between). */
export function entryCommand(name: EntryName, args: string[]): { command: string; args: string[] } {
  if (runningFromSource(import.meta.url)) {
    return {
      command: process.execPath,
      args: ['--import', 'tsx', join(REPO_ROOT, ENTRY_POINTS[name]), ...args],
    };
  }
  const dist = runtimeDir(import.meta.url, '.', '.');
  return { command: process.execPath, args: [join(dist, `${name}.js`), ...args] };
}
