/**
 * @lingua/dashboard: the cluster view read from Redis (shared by the gateway API, the live
 * feed and `lingua status`) and the dashboard page (plain HTML/CSS/JS, no build step).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeDir } from '@lingua/cluster';

export * from './cluster-view';

let page: string | undefined;

/** The dashboard as one self-contained HTML document (style and script inlined). */
export function dashboardPage(): string {
  if (page) return page;
  // src/page from source; dist/dashboard in a build (copied by scripts/build.ts).
  const dir = runtimeDir(import.meta.url, 'page', 'dashboard');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  // Function replacers: the script contains `$` sequences that string replacement would expand.
  page = read('dashboard.html')
    .replace('/*STYLE*/', () => read('dashboard.css'))
    .replace('/*SCRIPT*/', () => read('dashboard.js'));
  return page;
}
