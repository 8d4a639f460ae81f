/**
 * @lingua/dashboard: the cluster view read from Redis (shared by the gateway API, the live
 * feed and `lingua status`) and the dashboard page (plain HTML/CSS/JS, no build step).
 */
import { readFileSync } from 'node:fs';

export * from './cluster-view';

let page: string | undefined;

/** The dashboard as one self-contained HTML document (style and script inlined). */
export function dashboardPage(): string {
  if (page) return page;
  const read = (name: string) => readFileSync(new URL(`./page/${name}`, import.meta.url), 'utf8');
  // Function replacers: the script contains `$` sequences that string replacement would expand.
  page = read('dashboard.html')
    .replace('/*STYLE*/', () => read('dashboard.css'))
    .replace('/*SCRIPT*/', () => read('dashboard.js'));
  return page;
}
