/**
 * The compose files without Docker (`npm run test:deploy` runs them for real): every bind mount
 * exists, every long-running service has a health check, the gateways' stop grace period covers
 * the drain, and every LINGUA_* variable they (or the Kubernetes manifests) set is one the code
 * reads, so a misspelt setting cannot pass silently.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const FILES = [
  'docker-compose.cluster.yml',
  'deploy/compose/sentinel.yml',
  'deploy/compose/redis-cluster.yml',
];

interface Service {
  image?: string;
  command?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  restart?: string;
  profiles?: string[];
}

/** Compose interpolation with the defaults written in the file (`${X:-default}` → default). */
function interpolate(text: string): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _name, def) => def ?? '');
}

function load(file: string): { services: Record<string, Service> } {
  return parse(interpolate(readFileSync(join(ROOT, file), 'utf8')), { merge: true });
}

/** Every LINGUA_* name that appears in the sources: what the code can read. */
function knownSettings(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mjs)$/.test(f))
        for (const m of readFileSync(p, 'utf8').matchAll(/LINGUA_[A-Z0-9_]+/g)) names.add(m[0]);
    }
  };
  for (const pkg of readdirSync(join(ROOT, 'packages'))) walk(join(ROOT, 'packages', pkg, 'src'));
  return names;
}

function ms(duration: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`duration ${duration}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

describe('compose files', () => {
  it.each(FILES)('%s: bind mounts exist', (file) => {
    for (const [name, s] of Object.entries(load(file).services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./')) expect(() => statSync(join(ROOT, src)), `${name}: ${src}`).not.toThrow();
      }
    }
  });

  it.each(FILES)('%s: every long-running service has a health check', (file) => {
    const base = load('docker-compose.cluster.yml').services;
    for (const [name, s] of Object.entries(load(file).services)) {
      const merged = { ...base[name], ...s };
      if (merged.restart === 'no') continue; // one-shot
      expect(merged.healthcheck?.test?.length, `${file}: ${name}`).toBeGreaterThan(0);
    }
  });

  it('gateways drain within their stop grace period; nodes have their own health check', () => {
    const { services } = load('docker-compose.cluster.yml');
    for (const gw of ['gw1', 'gw2', 'gw3']) {
      const s = services[gw]!;
      const drain = Number(s.environment!.LINGUA_DRAIN_TIMEOUT_MS);
      expect(ms(s.stop_grace_period!)).toBeGreaterThanOrEqual(drain + 2000 + 1000);
      expect(s.healthcheck!.test.join(' ')).toContain('/ready');
    }
    for (const n of ['node1', 'node2']) {
      const s = services[n]!;
      const port = s.command![s.command!.indexOf('--health-port') + 1];
      expect(s.healthcheck!.test).toEqual(['CMD', 'lingua-probe', port, '/health']);
    }
  });

  it('every LINGUA_* setting in the compose files and Kubernetes manifests is read by the code', () => {
    const known = knownSettings();
    const used = new Set<string>();
    const texts = [
      ...FILES.map((f) => readFileSync(join(ROOT, f), 'utf8')),
      readFileSync(join(ROOT, 'deploy/compose/env.example'), 'utf8'),
    ];
    const k8s = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? k8s(p) : f.endsWith('.yaml') ? [readFileSync(p, 'utf8')] : [];
      });
    texts.push(...k8s(join(ROOT, 'deploy/k8s')));
    for (const t of texts) for (const m of t.matchAll(/\bLINGUA_[A-Z0-9_]+/g)) used.add(m[0]);
    // compose-only knobs (image, host ports) are interpolated by compose itself
    const composeOnly = new Set([
      'LINGUA_IMAGE',
      'LINGUA_HTTP_PORT',
      'LINGUA_PROMETHEUS_PORT',
      'LINGUA_GRAFANA_PORT',
    ]);
    const unknown = [...used].filter((n) => !known.has(n) && !composeOnly.has(n));
    expect(unknown).toEqual([]);
    expect(used.size).toBeGreaterThan(8);
  });
});
