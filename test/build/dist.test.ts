/**
 * The production build: `npm run build` bundles the entry points into dist/ with only npm
 * packages left as imports, and the bundles run under plain `node` (no tsx): the built
 * `lingua up` starts built gateways and simulated nodes that load the Lua scripts and serve
 * the dashboard from dist/, serve a session, and stop on SIGINT. The checkout's `lingua` bin
 * (`npx lingua`) runs too.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist, externalDependencies } from '../../scripts/build';
import { adminHeaders, TEST_CREDENTIALS } from '../support/auth';
import { RawPeer, simOutput, until } from '../support/peers';
import { freePort } from '../support/redis';

const ROOT = resolve(import.meta.dirname, '../..');
let OUT = '';
let STATE = '';
let cli: ChildProcess | undefined;
let children: number[] = [];

function alive(pid: number): boolean {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}

let externals: string[] = [];
beforeAll(async () => {
  // Inside the repository, so Node resolves the external packages from its node_modules.
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  OUT = mkdtempSync(join(ROOT, '.tmp', 'build-test-'));
  STATE = join(OUT, 'state');
  const meta = await buildDist(OUT);
  externals = Object.values(meta.outputs).flatMap((o) =>
    o.imports.filter((i) => i.external).map((i) => i.path),
  );
});

afterAll(() => {
  if (cli && cli.exitCode === null) cli.kill('SIGKILL');
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (OUT) rmSync(OUT, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('leaves only Node built-ins and production npm dependencies as imports', () => {
    const allowed = new Set(externalDependencies());
    const pkgName = (p: string) =>
      p
        .split('/')
        .slice(0, p.startsWith('@') ? 2 : 1)
        .join('/');
    const foreign = [...new Set(externals)].filter(
      (p) => !p.startsWith('node:') && !builtinModules.includes(p) && !allowed.has(pkgName(p)),
    );
    expect(foreign).toEqual([]);
    expect(externals.length).toBeGreaterThan(0);
    // no workspace package and no dev tool (tsx, typescript) is needed at run time
    expect(externals.filter((p) => /^@lingua\/|^tsx|^typescript/.test(p))).toEqual([]);
  });

  it('the built lingua up runs built gateways and nodes that serve a session and stop on SIGINT', async () => {
    const port = await freePort();
    let out = '';
    cli = spawn(
      process.execPath,
      [join(OUT, 'lingua.js'), 'up', '--gateways', '2', '--nodes', '1', '--port', String(port)],
      {
        cwd: OUT,
        // The test's credentials, so its session token and admin header are the cluster's own.
        env: {
          ...process.env,
          LINGUA_STATE_DIR: STATE,
          LINGUA_SESSION_JWT_SECRET: TEST_CREDENTIALS.sessionJwtSecret,
          LINGUA_NODE_JWT_SECRET: TEST_CREDENTIALS.nodeJwtSecret,
          LINGUA_ADMIN_TOKEN: TEST_CREDENTIALS.adminToken,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cli.stdout!.on('data', (d) => {
      out += d;
    });
    cli.stderr!.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => cli!.once('exit', (code) => r(code)));
    const procLine = await until(
      () => {
        if (cli!.exitCode !== null) throw new Error(`lingua up exited early:\n${out}`);
        return /^\s*processes\s+(.+)$/m.exec(out)?.[1];
      },
      'the ready block of the built lingua up',
      45_000,
    );
    const pids = Object.fromEntries([...procLine.matchAll(/(\S+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    children = Object.values(pids);
    // Every Lingua child is plain node running a bundle from the build: no tsx loader.
    const rel = (pid: number) =>
      execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
        .trim()
        .split(/\s+/)
        .slice(1, 2)
        .map((a) => relative(OUT, a))[0];
    expect([rel(pids['gw-1']!), rel(pids['gw-2']!), rel(pids['sim-1']!)]).toEqual([
      'gateway.js',
      'gateway.js',
      'sim-node.js',
    ]);

    // Lua scripts from dist/lua: a session's utterance goes through select/dispatch/complete.
    const peer = await RawPeer.connect(`ws://127.0.0.1:${port}/ws/session`);
    peer.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await peer.next('session_init_ack');
    const audio = Buffer.from('built bundle utterance '.repeat(40));
    peer.send({ type: 'utterance', data: audio.toString('base64') });
    const [result] = await peer.next('translation_result');
    expect(result).toMatchObject(simOutput(audio, 'zh', 'en'));
    peer.close();

    // The dashboard page from dist/dashboard, style and script inlined.
    const page = await fetch(`http://127.0.0.1:${port}/dashboard`, { headers: adminHeaders() });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<title>Lingua cluster</title>');
    expect(html).toContain(
      readFileSync(join(ROOT, 'packages/dashboard/src/page/dashboard.css'), 'utf8').trim(),
    );

    cli.kill('SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
    expect(code, out).toBe(0);
    await until(() => children.every((pid) => !alive(pid)), 'every child process gone', 5000);
  });

  it('the checkout has a lingua bin (npx lingua) that runs from source', () => {
    const help = execFileSync(join(ROOT, 'node_modules/.bin/lingua'), ['--help'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(help).toMatch(/^Usage: lingua /m);
    for (const cmd of ['up', 'status', 'dlq', 'demo', 'drill'])
      expect(help).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });
});
