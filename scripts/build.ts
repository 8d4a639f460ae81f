/**
 * `npm run build`: the production build. esbuild bundles each entry point (packages/cli/src/
 * entries.ts) with the workspace packages inlined into dist/<name>.js (ES modules, shared code
 * in dist/chunk-*.js), leaving every npm dependency external: production installs them with
 * `npm ci --omit=dev`. The runtime files are copied next to the bundles: lua/ → dist/lua,
 * the dashboard page → dist/dashboard (see packages/cluster/src/runtime-paths.ts).
 *
 *   tsx scripts/build.ts [--outdir DIR]     (default dist/; DIR must be inside the repository
 *                                            so Node finds node_modules from it)
 *
 * Type checking is `npm run typecheck`; the build only transpiles.
 */
import { chmodSync, cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { ENTRY_POINTS } from '../packages/cli/src/entries';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every dependency of a workspace package except the workspace packages themselves. */
export function externalDependencies(root = ROOT): string[] {
  const out = new Set<string>();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (!name.startsWith('@lingua/')) out.add(name);
    }
  }
  return [...out].sort();
}

/** Builds into `outdir` (emptied first); returns esbuild's metafile (inputs, outputs, imports). */
export async function buildDist(outdir: string): Promise<Metafile> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, src]) => [name, src])),
    outdir,
    bundle: true,
    splitting: true,
    // Chunks beside the bundles: runtime-paths.ts resolves dist/lua from any of them.
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: externalDependencies(),
    sourcemap: true,
    logLevel: 'warning',
    metafile: true,
  });
  if (result.errors.length) throw new Error('build failed');
  // The bundles are ES modules wherever dist/ is copied, with or without the root package.json.
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
  cpSync(join(ROOT, 'lua'), join(outdir, 'lua'), { recursive: true });
  cpSync(join(ROOT, 'packages/dashboard/src/page'), join(outdir, 'dashboard'), { recursive: true });
  chmodSync(join(outdir, 'lingua.js'), 0o755);
  return result.metafile;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } });
  const outdir = resolve(ROOT, values.outdir);
  const started = Date.now();
  await buildDist(outdir);
  process.stdout.write(
    `build: ${Object.keys(ENTRY_POINTS).join(', ')} → ${outdir} in ${Date.now() - started} ms\n`,
  );
}
