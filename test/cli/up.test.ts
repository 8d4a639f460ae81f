/**
 * `lingua up` as a user runs it: a real child process that starts redis-server, 2 gateway
 * processes sharing one port (SO_REUSEPORT) and 2 simulated node processes. Credentials come
 * from its environment: they are honoured, never on a child's command line, and the simulated
 * nodes get a node token, not the secrets. A session is served through the shared port, both
 * gateways answer the cluster API alike, metrics move, and SIGINT leaves no process behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ClusterView } from '@lingua/dashboard';
import {
  canSharePort,
  generateSecret,
  mintSessionToken,
  secretKey,
  type TransportChoice,
} from '@lingua/gateway';
import { afterAll, describe, expect, it } from 'vitest';
import { RawPeer, simOutput, until } from '../support/peers';
import { freePort } from '../support/redis';

const ROOT = resolve(import.meta.dirname, '../..');

let cli: ChildProcess | undefined;
let out = '';
let tracked: number[] = [];
const stateDir = mkdtempSync(join(tmpdir(), 'lingua-cli-test-'));

/** Every process below `root` (children, grandchildren, ...), from one `ps` listing. */
function descendants(root: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [pid, ppid] of rows) {
      if (ppid === p && !found.includes(pid)) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Running = exists and is not a zombie (a container's PID 1 may not reap orphans). */
function running(pid: number): boolean {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false; // ps exits 1 when the pid does not exist
  }
}

/** GET on a fresh connection, so SO_REUSEPORT may pick either gateway. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close', ...headers } }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c) => {
        body += c;
      });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.setTimeout(5000, () => req.destroy(new Error(`timeout: ${url}`)));
  });
}

afterAll(() => {
  // Whatever happened, nothing may survive the test.
  if (cli && cli.exitCode === null) cli.kill('SIGKILL');
  for (const pid of tracked) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
});

/** NUL-separated /proc/<pid>/<file> as text ('' once the process is gone). */
function proc(pid: number, file: 'cmdline' | 'environ'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

describe('lingua up', () => {
  it('starts redis + 2 gateways on one port + 2 nodes, serves a session, and stops everything on SIGINT', async () => {
    const port = await freePort();
    const secrets = {
      LINGUA_SESSION_JWT_SECRET: generateSecret(),
      LINGUA_NODE_JWT_SECRET: generateSecret(),
      LINGUA_ADMIN_TOKEN: generateSecret(),
    };
    const admin = { authorization: `Bearer ${secrets.LINGUA_ADMIN_TOKEN}` };
    cli = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'up',
        '--gateways',
        '2',
        '--nodes',
        '2',
        '--port',
        String(port),
        '--node-latency',
        '0-10',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...secrets, LINGUA_STATE_DIR: stateDir },
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

    // The ready block lists every child process.
    const procLine = await until(
      () => {
        if (cli!.exitCode !== null) throw new Error(`lingua up exited early:\n${out}`);
        return /^\s*processes\s+(.+)$/m.exec(out)?.[1];
      },
      'the ready block of lingua up',
      120_000, // generous: on a busy machine tsx takes long to load every child
    );
    const pids = Object.fromEntries([...procLine.matchAll(/(\S+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    expect(Object.keys(pids).sort()).toEqual(['gw-1', 'gw-2', 'redis-server', 'sim-1', 'sim-2']);
    expect(out).toContain(`http://127.0.0.1:${port}/dashboard`);
    expect(out).toContain(`ws://127.0.0.1:${port}/ws/session`);
    const tree = descendants(cli.pid!);
    tracked = [...new Set([...Object.values(pids), ...tree])];
    for (const pid of Object.values(pids)) expect(tree).toContain(pid);
    expect(existsSync(join(stateDir, 'cluster.json'))).toBe(true);
    // Every secret came from the environment: nothing generated, nothing written to disk.
    expect(existsSync(join(stateDir, 'credentials.json'))).toBe(false);
    expect(out).not.toMatch(/secrets\s+generated/);

    // No secret on any command line (ps shows argv to every user), none printed, and the
    // simulated nodes hold a node token, not the secrets.
    const printed = {
      session: /session token\s+(\S+)/.exec(out)?.[1] ?? '',
      node: /node token\s+(\S+)/.exec(out)?.[1] ?? '',
    };
    expect(printed.session).toMatch(/^eyJ/);
    expect(printed.node).toMatch(/^eyJ/);
    for (const pid of tracked) {
      const argv = proc(pid, 'cmdline');
      for (const secret of [...Object.values(secrets), printed.session, printed.node]) {
        expect(argv, `argv of ${pid}`).not.toContain(secret);
      }
    }
    for (const value of Object.values(secrets)) expect(out).not.toContain(value);
    for (const name of ['sim-1', 'sim-2', 'redis-server']) {
      const environ = proc(pids[name]!, 'environ');
      expect(environ, name).not.toBe('');
      for (const value of Object.values(secrets)) expect(environ, `environ of ${name}`).not.toContain(value);
    }
    expect(proc(pids['sim-1']!, 'environ')).toContain('LINGUA_NODE_TOKEN=eyJ');

    // The gateways honour the environment's secrets: a token minted with them opens a session;
    // one signed with another secret does not.
    const forged = await mintSessionToken(secretKey(generateSecret()), { tenant: 'x' }, { ttlSeconds: 60 });
    const refused = await RawPeer.connect(`ws://127.0.0.1:${port}/ws/session`, { token: forged });
    expect((await refused.next('error'))[0]).toMatchObject({ code: 'UNAUTHORIZED' });
    await until(() => refused.closed, 'refused socket closed');
    expect(refused.closed?.code).toBe(1008);
    // `lingua token session` mints with the same secret from the environment.
    const minted = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/main.ts', 'token', 'session', '--tenant', 'acme', '--ttl', '10m'],
      { cwd: ROOT, env: { ...process.env, ...secrets, LINGUA_STATE_DIR: stateDir }, encoding: 'utf8' },
    ).trim();
    const viaCli = await RawPeer.connect(`ws://127.0.0.1:${port}/ws/session`, { token: minted });
    viaCli.send({ type: 'client_heartbeat', ts: 1 });
    await viaCli.next('server_heartbeat');
    viaCli.close();

    // A session through the shared port (the printed token), served by the simulated nodes.
    const peer = await RawPeer.connect(`ws://127.0.0.1:${port}/ws/session`, { token: printed.session });
    peer.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await peer.next('session_init_ack');
    const audios = [0, 1, 2].map((i) => Buffer.from(`lingua up utterance ${i} `.repeat(40)));
    for (const a of audios) peer.send({ type: 'utterance', data: a.toString('base64') });
    const results = await peer.next('translation_result', 3);
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2]);
    for (const [i, r] of results.entries()) expect(r).toMatchObject(simOutput(audios[i]!, 'zh', 'en'));
    peer.close();

    // Both gateways answer the cluster API, and they agree (it is read from Redis).
    const answers = new Map<string, ClusterView & { served_by: string }>();
    // One shared port (SO_REUSEPORT) where the transport can; else lingua up uses port, port+1.
    const shared = canSharePort((process.env.LINGUA_TRANSPORT || 'auto') as TransportChoice);
    let asked = 0;
    await until(async () => {
      const p = shared ? port : port + (asked++ % 2);
      expect((await get(`http://127.0.0.1:${p}/api/v1/cluster`)).status).toBe(401);
      const { status, body } = await get(`http://127.0.0.1:${p}/api/v1/cluster`, admin);
      if (status === 200) {
        const c = JSON.parse(body);
        answers.set(c.served_by, c);
      }
      return answers.size >= 2;
    }, 'cluster API answers from both gateways');
    const view = (c: ClusterView) => ({
      instances: c.instances.map((i) => ({ id: i.id, alive: i.alive })),
      nodes: c.nodes.map((n) => ({
        id: n.node_id,
        state: n.state,
        pools: n.pools,
        instance: n.instance,
      })),
      pools: c.pools,
    });
    const [a, b] = [...answers.values()];
    expect(view(a!)).toEqual(view(b!));
    expect(view(a!).instances).toEqual([
      { id: 'gw-1', alive: true },
      { id: 'gw-2', alive: true },
    ]);
    expect(view(a!).nodes.map((n) => [n.id, n.state])).toEqual([
      ['sim-1', 'online'],
      ['sim-2', 'online'],
    ]);
    expect(a!.pools['zh:en']!.nodes).toBeGreaterThanOrEqual(1);
    expect(a!.jobs.completed!).toBeGreaterThanOrEqual(3);

    // Each scrape hits one gateway: retry until one shows the job counters moved.
    await until(async () => {
      const { body } = await get(`http://127.0.0.1:${port}/metrics`, admin);
      return /^lingua_(jobs_dispatched|job_transitions)_total\{[^}]*\} [1-9]/m.test(body);
    }, 'job counters > 0 in /metrics');

    // Ctrl-C: everything stops, nothing is left behind.
    cli.kill('SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
    expect(code, out).toBe(0);
    await until(() => tracked.every((pid) => !running(pid)), 'every child process gone', 5000);
    expect(out).toMatch(/stopped 5 processes/);
    expect(existsSync(join(stateDir, 'cluster.json'))).toBe(false);
  }, 240_000);
});
