/**
 * Finds a native uWebSockets.js binary that loads on this Node and libc. Two packages ship
 * binaries: `@btc-vision/uwebsockets.js` (uWS v20.57, Node 20/22/24/25, built against glibc
 * 2.38, so Debian 13+) and the `uWebSockets.js` alias (uWS v20.30, Node 16/18/20, older glibc,
 * so Debian 12). We load the `.node` file directly: the alias's own entry point would fall
 * back to a `ws` shim that throws "not implemented" for custom upgrade handlers on Node 24.
 * Nothing here throws: when no binary loads, the gateway runs on the node transport.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export type UwsModule = typeof import('uWebSockets.js');

export interface NativeProbe {
  uws: UwsModule | null;
  /** which package's binary loaded, e.g. `@btc-vision/uwebsockets.js@20.57.0` */
  source?: string;
  /** why none loaded (one line per candidate) */
  reasons: string[];
}

const binaryName = () => `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

function candidates(): { name: string; file: () => string }[] {
  return [
    {
      name: '@btc-vision/uwebsockets.js',
      // its `exports` hide package.json: resolve the entry point (next to the binaries)
      file: () => join(dirname(require.resolve('@btc-vision/uwebsockets.js')), binaryName()),
    },
    {
      name: 'uWebSockets.js',
      file: () => join(dirname(require.resolve('uWebSockets.js/package.json')), 'binaries', binaryName()),
    },
  ];
}

let cached: NativeProbe | undefined;

/** Tries each package's binary for this platform and Node ABI once per process. */
export function probeNativeUws(): NativeProbe {
  if (cached) return cached;
  const reasons: string[] = [];
  for (const c of candidates()) {
    let file: string;
    try {
      file = c.file();
    } catch {
      reasons.push(`${c.name}: not installed`);
      continue;
    }
    if (!existsSync(file)) {
      reasons.push(`${c.name}: no binary for ${binaryName()}`);
      continue;
    }
    try {
      const uws = require(file) as UwsModule;
      const pkg = join(dirname(file), file.includes('/binaries/') ? '..' : '', 'package.json');
      const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
      cached = { uws, source: `${c.name}@${version}`, reasons };
      return cached;
    } catch (err) {
      reasons.push(`${c.name}: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
    }
  }
  cached = { uws: null, reasons };
  return cached;
}
