/** Markdown helpers for bench reports: tables, number formats, replacing one doc section. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import type { Redis } from 'ioredis';

export function table(head: string[], rows: (string | number)[][], align?: string[]): string {
  const sep = align ?? head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** 12,345 */
export const int = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US');
/** fixed decimals or – */
export const num = (n: number | undefined, d = 2) =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d);
/** ratio as 1.23× */
export const times = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(2)}×`;

/**
 * Replaces the `## heading` section of a markdown file (up to the next level-2 heading) with
 * `body`, or appends it; creates the file with a title when missing. Other sections stay.
 */
export function replaceSection(file: string, heading: string, body: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  const section = [heading, '', body.trimEnd(), ''];
  if (start < 0) {
    const head = text.trimEnd();
    writeFileSync(file, `${head}\n\n${section.join('\n')}`);
    return;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const out = [...lines.slice(0, start), ...section, ...(end < lines.length ? lines.slice(end) : [])];
  writeFileSync(file, `${out.join('\n').trimEnd()}\n`);
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** One line describing the machine and the Redis under test. */
export async function machine(redis: Redis, openFiles: number): Promise<string> {
  const info = await redis.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  const gb = (b: number) => (b / 2 ** 30).toFixed(1);
  return [
    `nproc ${cpus().length}`,
    `CPU ${cpuModel()}`,
    `RAM ${gb(totalmem())} GB (${gb(freemem())} GB free at start)`,
    `Linux ${release()}`,
    `Node ${process.version}`,
    `Redis ${version} (one redis-server started by the bench, appendonly no, save "")`,
    `ulimit -n ${openFiles}`,
    `load average at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}`,
  ].join('; ');
}
