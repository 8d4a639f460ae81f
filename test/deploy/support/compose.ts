/**
 * A docker-compose project for one test: a unique project name (so runs never collide), host
 * ports on 127.0.0.1 chosen by Docker, and a teardown that removes every container, network
 * and volume the project created. A detached watchdog (`tail --pid`) takes the project down if
 * the test process dies without tearing down.
 *
 * Secrets reach compose the way docs/deploy.md tells operators: an env file (mode 0600, in a
 * private temporary directory) that exists only while `up` runs — never the command line, never
 * the environment of the compose process. Every other compose command reads an empty env file,
 * so a developer's `.env` in the repository cannot leak into a test.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../../..');

/** The image the tests run: built once by global-setup.ts (or LINGUA_TEST_IMAGE). */
export function testImage(): string {
  return process.env.LINGUA_TEST_IMAGE || 'lingua:deploy-test';
}

export async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout.trim();
}

export interface ContainerState {
  status: string;
  exitCode: number;
  health: string;
  restartCount: number;
}

export class ComposeProject {
  readonly name = `lingua-deploytest-${randomBytes(4).toString('hex')}`;
  private watchdog: ChildProcess | undefined;
  /** private directory (0700) for the env files */
  private secretDir: string | undefined;

  constructor(
    readonly files: string[],
    readonly env: Record<string, string> = {},
    /** written to the env file `up` passes to compose (credentials) */
    private readonly secrets: Record<string, string> = {},
  ) {}

  /** The private directory, with an empty env file for every command but `up`. */
  private dir(): string {
    if (!this.secretDir) {
      this.secretDir = mkdtempSync(join(tmpdir(), 'lingua-deploytest-'));
      writeFileSync(join(this.secretDir, 'empty.env'), '', { mode: 0o600 });
    }
    return this.secretDir;
  }

  private args(envFile = join(this.dir(), 'empty.env')): string[] {
    return ['-p', this.name, '--env-file', envFile, ...this.files.flatMap((f) => ['-f', resolve(ROOT, f)])];
  }

  private get fullEnv(): NodeJS.ProcessEnv {
    // The secrets come from the env file only: the caller's environment cannot override them.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in this.secrets)));
    return {
      ...inherited,
      LINGUA_IMAGE: testImage(),
      // Docker picks free host ports, on loopback only.
      LINGUA_HTTP_PORT: '127.0.0.1:',
      LINGUA_PROMETHEUS_PORT: '127.0.0.1:',
      LINGUA_GRAFANA_PORT: '127.0.0.1:',
      ...this.env,
    };
  }

  async compose(args: string[], timeoutMs = 300_000, envFile?: string): Promise<string> {
    const { stdout } = await run('docker-compose', [...this.args(envFile), ...args], {
      cwd: ROOT,
      env: this.fullEnv,
      timeout: timeoutMs,
      maxBuffer: 64 << 20,
    });
    return stdout.trim();
  }

  async up(services: string[]): Promise<void> {
    this.armWatchdog();
    const envFile = join(this.dir(), 'secrets.env');
    const lines = Object.entries(this.secrets).map(([k, v]) => {
      if (!/^[A-Za-z0-9._~+/=-]*$/.test(v)) throw new Error(`${k}: not a plain env-file value`);
      return `${k}=${v}\n`;
    });
    writeFileSync(envFile, lines.join(''), { mode: 0o600, flag: 'wx' });
    try {
      const mode = statSync(envFile).mode & 0o777;
      if (mode !== 0o600) throw new Error(`env file created with mode ${mode.toString(8)}, not 600`);
      await this.compose(['up', '-d', '--no-build', ...services], 300_000, envFile);
    } finally {
      rmSync(envFile, { force: true });
    }
  }

  /** The secrets' env file while `up` runs (for a test to check it is gone afterwards). */
  get secretEnvFile(): string | undefined {
    return this.secretDir && join(this.secretDir, 'secrets.env');
  }

  /** The host address of a published port: `127.0.0.1:<port>`. */
  async hostPort(service: string, port: number): Promise<string> {
    const out = await this.compose(['port', service, String(port)]);
    if (!/^127\.0\.0\.1:\d+$/.test(out)) throw new Error(`unexpected port mapping for ${service}: "${out}"`);
    return out;
  }

  async containerId(service: string): Promise<string> {
    const id = await this.compose(['ps', '-q', service]);
    if (!id) throw new Error(`no container for ${service}`);
    return id;
  }

  async state(service: string): Promise<ContainerState> {
    const id = await this.containerId(service);
    const out = await docker([
      'inspect',
      '--format',
      '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}}',
      id,
    ]);
    const [status, exitCode, health, restarts] = out.split(' ');
    return { status: status!, exitCode: Number(exitCode), health: health!, restartCount: Number(restarts) };
  }

  /** SIGKILL, as `docker kill` does: no drain, no goodbye. */
  async kill(service: string): Promise<void> {
    await docker(['kill', await this.containerId(service)]);
  }

  /** `docker-compose stop`: SIGTERM, SIGKILL after the grace period. */
  async stop(service: string): Promise<void> {
    await this.compose(['stop', service]);
  }

  async logs(service: string): Promise<string> {
    return this.compose(['logs', '--no-color', '--tail', '400', service]);
  }

  /** Containers, networks and volumes still labelled with this project. */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const [c, n, v] = await Promise.all([
      docker(['ps', '-aq', '--filter', label]),
      docker(['network', 'ls', '-q', '--filter', label]),
      docker(['volume', 'ls', '-q', '--filter', label]),
    ]);
    return [
      ...c
        .split('\n')
        .filter(Boolean)
        .map((x) => `container ${x}`),
      ...n
        .split('\n')
        .filter(Boolean)
        .map((x) => `network ${x}`),
      ...v
        .split('\n')
        .filter(Boolean)
        .map((x) => `volume ${x}`),
    ];
  }

  async down(): Promise<void> {
    try {
      await this.compose(['down', '-v', '--remove-orphans', '-t', '5']);
    } finally {
      if (this.secretDir) rmSync(this.secretDir, { recursive: true, force: true });
      this.secretDir = undefined;
      if (this.watchdog?.pid) {
        try {
          process.kill(-this.watchdog.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  private armWatchdog(): void {
    if (this.watchdog) return;
    const args = [...this.args(), 'down', '-v', '--remove-orphans', '-t', '1'].map((a) => `'${a}'`).join(' ');
    const dir = this.dir();
    this.watchdog = spawn(
      'sh',
      [
        '-c',
        `tail --pid=${process.pid} -f /dev/null; rm -f '${dir}/secrets.env'; docker-compose ${args} >/dev/null 2>&1; rm -rf '${dir}'`,
      ],
      { cwd: ROOT, env: this.fullEnv, detached: true, stdio: 'ignore' },
    );
    this.watchdog.unref();
  }
}
