/**
 * Where runtime files (Lua scripts, the dashboard page) are. Lingua runs two ways: from the
 * TypeScript source (tsx, vitest: `import.meta.url` is a `.ts` file in packages/<pkg>/src) and
 * from the bundles `npm run build` writes (`import.meta.url` is a `.js` file directly in dist/,
 * bundles and chunks alike, next to the copied dist/lua and dist/dashboard).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when the calling module runs from its TypeScript source rather than a build. */
export function runningFromSource(moduleUrl: string): boolean {
  return moduleUrl.endsWith('.ts');
}

/**
 * A directory relative to the calling module: `fromSource` when it runs from source,
 * `inBuild` (relative to dist/) when it runs from the build.
 */
export function runtimeDir(moduleUrl: string, fromSource: string, inBuild: string): string {
  const here = dirname(fileURLToPath(moduleUrl));
  return resolve(here, runningFromSource(moduleUrl) ? fromSource : inBuild);
}
