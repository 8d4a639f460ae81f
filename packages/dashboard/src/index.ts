/**
 * @lingua/dashboard: the cluster view read from Redis (shared by the gateway API, the live
 * feed and `lingua status`) and the dashboard page (plain HTML/CSS/JS, no build step).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeDir } from '@lingua/cluster';

export * from './cluster-view';

let page: string | undefined;
let login: string | undefined;

// src/page from source; dist/dashboard in a build (copied by scripts/build.ts).
const read = (name: string) =>
  readFileSync(join(runtimeDir(import.meta.url, 'page', 'dashboard'), name), 'utf8');

/** The dashboard as one self-contained HTML document (style and script inlined). */
export function dashboardPage(): string {
  if (page) return page;
  // Function replacers: the script contains `$` sequences that string replacement would expand.
  page = read('dashboard.html')
    .replace('/*STYLE*/', () => read('dashboard.css'))
    .replace('/*SCRIPT*/', () => read('dashboard.js'));
  return page;
}

/**
 * The login form the dashboard shows without a valid login cookie: it POSTs the admin token
 * to /dashboard/login (never in a URL). `error` is shown under the form.
 */
export function loginPage(error?: string): string {
  login ??= read('login.html').replace('/*STYLE*/', () => read('dashboard.css'));
  const note = error
    ? `<p class="error" data-testid="login-error">${error.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`
    : '';
  return login.replace('<!--ERROR-->', () => note);
}
