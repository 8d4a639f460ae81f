/**
 * Redis credentials (issue 9D) against real servers: one with an ACL user that may touch only
 * Lingua's keys (the ACL line of docs/security.md, read from there so the two cannot drift),
 * one with TLS only, its CA and certificate made here with openssl. The gateway and the CLI
 * (what talks to Redis) are real processes; the URL with the password reaches them only
 * through their environment: it is on no command line and in no log line. An honest session
 * gets the simulated node's deterministic results, and Redis logged no ACL denial.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_GATEWAY_ENV } from '../support/auth';
import { startGateways } from '../support/gateways';
import { RawPeer, rawNode, simOutput, until } from '../support/peers';
import { freePort, type RedisServer, startRedis, startRedisCluster } from '../support/redis';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-x`;
const ADMIN_PASSWORD = `admin-${Math.random().toString(36).slice(2)}`;
const dir = mkdtempSync(join(tmpdir(), 'lingua-redis-sec-'));
const children: ChildProcess[] = [];
const servers: RedisServer[] = [];

/** The ACL line documented for operators, with this run's password. */
function aclLine(): string {
  const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
  const line = /^user lingua on .+$/m.exec(doc)?.[0];
  if (!line) throw new Error('docs/security.md has no `user lingua on …` ACL line');
  return line.replace('>CHANGE-ME', `>${PASSWORD}`);
}

function writeAclFile(): string {
  const file = join(dir, 'users.acl');
  // The default user is off: without credentials nothing gets in. `admin` is the test's own.
  writeFileSync(file, `user default off\nuser admin on >${ADMIN_PASSWORD} ~* &* +@all\n${aclLine()}\n`);
  return file;
}

/** A CA and a server certificate for 127.0.0.1 (EC P-256: fast to make). */
function makeCertificates(): { ca: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=lingua test CA',
  ]);
  ssl(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '1',
    '-extfile',
    f('san.ext'),
  ]);
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

interface Proc {
  child: ChildProcess;
  output: () => string;
}

/** A child with a minimal environment (nothing inherited by accident), output captured. */
function start(name: string, args: string[], env: Record<string, string>): Proc {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  child.on('exit', (code, signal) => {
    out += `\n[${name} exited: ${code ?? signal}]\n`;
  });
  return { child, output: () => out };
}

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
}

/** A gateway process on `redisUrl`: an honest session gets correct results; no secret leaks. */
async function serveThrough(
  redisUrl: string,
  extraEnv: Record<string, string>,
  label: string,
  withCli: boolean,
): Promise<void> {
  const port = await freePort();
  const prefix = `lingua:${label}:`;
  const gw = start('gateway', ['packages/gateway/src/main.ts'], {
    ...TEST_GATEWAY_ENV,
    ...extraEnv,
    LINGUA_REDIS_URL: redisUrl,
    LINGUA_INSTANCE_ID: `gw-${label}`,
    LINGUA_PORT: String(port),
    LINGUA_HOST: '127.0.0.1',
    LINGUA_KEY_PREFIX: prefix,
    LINGUA_LOG_LEVEL: 'debug',
    // bullmq sweeps run often, so their commands meet the ACL during the test too
    LINGUA_SWEEP_INTERVAL_MS: '100',
  });
  await until(
    async () => {
      if (gw.child.exitCode !== null) throw new Error(`gateway exited:\n${gw.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => null))?.status === 200;
    },
    `${label} gateway ready`,
    120_000, // generous: loading a gateway with tsx takes long on a busy machine
  );
  // The node does not talk to Redis: an in-process peer answering like the simulated node.
  const node = await rawNode(`ws://127.0.0.1:${port}/ws/node`, `node-${label}`, { heartbeatMs: 1000 });
  const s = await RawPeer.connect(`ws://127.0.0.1:${port}/ws/session`);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 });
  await s.next('session_init_ack');
  const audios = [0, 1, 2].map((i) => Buffer.from(`${label} utterance ${i} `.repeat(30)));
  for (const a of audios) s.send({ type: 'utterance', data: a.toString('base64') });
  const results = await s.next('translation_result', 3);
  expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2]);
  for (const [i, r] of results.entries()) expect(r).toMatchObject(simOutput(audios[i]!, 'zh', 'en'));
  s.close();

  if (withCli) {
    // The CLI reads the same Redis with the URL from its environment.
    const status = await run(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', 'status'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...extraEnv,
        LINGUA_REDIS_URL: redisUrl,
        LINGUA_KEY_PREFIX: prefix,
      },
    });
    expect(status.stdout).toMatch(/Nodes: 1 online/);
    expect(status.stdout + status.stderr).not.toContain(PASSWORD);
  }

  // The password is on no command line and in no log line.
  expect(cmdline(gw.child.pid!)).not.toContain(PASSWORD);
  node.close();
  gw.child.kill('SIGTERM');
  await new Promise((r) => (gw.child.exitCode !== null ? r(null) : gw.child.once('exit', r)));
  expect(gw.output()).toContain('gateway stopped');
  expect(gw.output()).not.toContain(PASSWORD);
}

let acl: RedisServer;
let tls: RedisServer & { tlsPort: number };
let certs: ReturnType<typeof makeCertificates>;

beforeAll(async () => {
  const aclFile = writeAclFile();
  const admin = ['--user', 'admin', '--pass', ADMIN_PASSWORD, '--no-auth-warning'];
  acl = await startRedis({ extraArgs: ['--aclfile', aclFile], cliArgs: admin });
  servers.push(acl);
  certs = makeCertificates();
  const tlsPort = await freePort();
  const server = await startRedis({
    extraArgs: [
      '--port',
      '0',
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      certs.cert,
      '--tls-key-file',
      certs.key,
      '--tls-ca-cert-file',
      certs.ca,
      '--tls-auth-clients',
      'no',
      '--aclfile',
      aclFile,
    ],
    cliArgs: ['-p', String(tlsPort), '--tls', '--cacert', certs.ca, ...admin],
  });
  servers.push(server);
  tls = Object.assign(server, { tlsPort });
}, 150_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function aclDenials(cli: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', [
    ...cli,
    '--user',
    'admin',
    '--pass',
    ADMIN_PASSWORD,
    '--no-auth-warning',
    'ACL',
    'LOG',
  ]);
  return stdout.trim();
}

describe('Redis credentials', { timeout: 240_000 }, () => {
  it('an ACL user limited to Lingua keys (redis://user:pass@…) serves sessions, workers and the CLI', async () => {
    const url = `redis://lingua:${encodeURIComponent(PASSWORD)}@127.0.0.1:${acl.port}`;
    await serveThrough(url, {}, 'acl', true);
    // Every command Lingua (ioredis, bullmq, the Lua scripts, the CLI) sent was allowed.
    expect(await aclDenials(['-p', String(acl.port)])).toBe('');
  });

  it('the ACL user cannot reach other keys or admin commands', async () => {
    const as = ['-p', String(acl.port), '--user', 'lingua', '--pass', PASSWORD, '--no-auth-warning'];
    const other = await run('redis-cli', [...as, 'SET', 'not-lingua', '1']);
    expect(other.stdout).toMatch(/NOPERM/);
    for (const cmd of [['FLUSHALL'], ['CONFIG', 'GET', 'dir'], ['KEYS', '*']]) {
      expect((await run('redis-cli', [...as, ...cmd])).stdout, cmd.join(' ')).toMatch(/NOPERM/);
    }
  });

  it('rediss:// with a private CA (LINGUA_REDIS_CA_FILE) and the ACL user', async () => {
    const url = `rediss://lingua:${encodeURIComponent(PASSWORD)}@127.0.0.1:${tls.tlsPort}`;
    await serveThrough(url, { LINGUA_REDIS_CA_FILE: certs.ca }, 'tls', false);
    expect(await aclDenials(['-p', String(tls.tlsPort), '--tls', '--cacert', certs.ca])).toBe('');
  });

  it('Redis Cluster with the same ACL user (redis+cluster://user:pass@…) serves sessions across shards', async () => {
    const admin = ['--user', 'admin', '--pass', ADMIN_PASSWORD, '--no-auth-warning'];
    const rc = await startRedisCluster(3, { extraArgs: ['--aclfile', writeAclFile()], cliArgs: admin });
    try {
      const seeds = rc.nodes.map((n) => `${n.host}:${n.port}`).join(',');
      const url = `redis+cluster://lingua:${encodeURIComponent(PASSWORD)}@${seeds}`;
      const gws = await startGateways(url, 2, { cells: 4, shards: 4 });
      try {
        const node = await rawNode(gws.urls('node')[0]!, 'cluster-node', { max: 8 });
        const peers = await Promise.all(
          [0, 1, 2, 3].map(async (i) => {
            const s = await RawPeer.connect(gws.urls('session')[i % 2]!);
            s.send({
              type: 'session_init',
              src_lang: 'zh',
              tgt_lang: 'en',
              audio_format: 'pcm16',
              sample_rate: 16000,
            });
            await s.next('session_init_ack');
            const audio = Buffer.from(`cluster session ${i} `.repeat(20));
            s.send({ type: 'utterance', data: audio.toString('base64') });
            const [r] = await s.next('translation_result');
            expect(r).toMatchObject(simOutput(audio, 'zh', 'en'));
            return s;
          }),
        );
        for (const p of peers) p.close();
        node.close();
      } finally {
        await gws.stop();
      }
      for (const n of rc.nodes) expect(await aclDenials(['-p', String(n.port)]), `node ${n.port}`).toBe('');
    } finally {
      await rc.stop();
    }
  });

  it('a wrong password stops the gateway with a clear error that does not echo it', async () => {
    const wrong = `${PASSWORD}-wrong`;
    const gw = start('gateway', ['packages/gateway/src/main.ts'], {
      ...TEST_GATEWAY_ENV,
      LINGUA_REDIS_URL: `redis://lingua:${wrong}@127.0.0.1:${acl.port}`,
      LINGUA_PORT: String(await freePort()),
      LINGUA_HOST: '127.0.0.1',
    });
    const code = await new Promise((r) => gw.child.once('exit', r));
    expect(code).not.toBe(0);
    expect(gw.output()).toMatch(/WRONGPASS/);
    expect(gw.output()).not.toContain(wrong);
  });
});
