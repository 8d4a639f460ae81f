/**
 * uWebSockets.js loader. The npm alias ships native binaries for some Node ABIs and falls
 * back to a slower `ws`-based implementation elsewhere; we report which one is in use.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export function uwsIsNative(): boolean {
  if (/^(1|true)$/i.test(process.env.UWS_USE_FALLBACK ?? '')) return false;
  const pkgDir = dirname(require.resolve('uWebSockets.js/package.json'));
  const bin = join(
    pkgDir,
    'binaries',
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
  );
  return existsSync(bin);
}

export const uWS: typeof import('uWebSockets.js') = require('uWebSockets.js');
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
