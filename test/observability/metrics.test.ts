/**
 * The observability kit matches the code: every metric a Grafana panel or an alert rule names
 * exists on a live gateway's /metrics (a real gateway on a real redis-server), and the rules
 * select the scrape job the Prometheus config defines. (promtool checks and unit-tests the
 * rules under `npm run test:deploy`, where the Prometheus image is at hand.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adminHeaders } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { type RedisServer, startRedis } from '../support/redis';

const ROOT = resolve(import.meta.dirname, '../..');
const DASHBOARDS = join(ROOT, 'deploy/grafana/dashboards');
/** Panels use the dashboard's datasource variable, so an import can pick any Prometheus. */
const DATASOURCE_VAR = '$' + '{datasource}';

interface Panel {
  type: string;
  id: number;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

function dashboardExprs(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as { panels: Panel[] };
    const walk = (ps: Panel[]) => {
      for (const p of ps) {
        for (const t of p.targets ?? []) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
        walk(p.panels ?? []);
      }
    };
    walk(d.panels);
  }
  return out;
}

function ruleExprs(): { where: string; expr: string }[] {
  const doc = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return doc.groups.flatMap((g) =>
    g.rules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: r.expr })),
  );
}

/** Metric names in a PromQL expression: our own (lingua_*) and the Node.js client's defaults. */
function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(noStrings.match(/\b(?:lingua|nodejs|process)_[a-z0-9_]+\b/g) ?? [])];
}

/** A histogram's series name → its family name as exposed in `# TYPE`. */
function family(name: string, types: Map<string, string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && types.get(base) === 'histogram' ? base : name;
}

let redis: RedisServer;
let cluster: TestCluster;
let exposition = '';

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 1);
  const gw = cluster.gateways[0]!;
  const r = await fetch(`http://127.0.0.1:${gw.port}/metrics`, { headers: adminHeaders() });
  expect(r.status).toBe(200);
  exposition = await r.text();
});

afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe('observability kit', () => {
  it('every metric named by a dashboard panel or an alert rule is exposed by a gateway', () => {
    const types = new Map(
      [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]),
    );
    const uses = [...dashboardExprs(), ...ruleExprs()];
    expect(uses.length).toBeGreaterThan(30);
    const missing: string[] = [];
    const named = new Set<string>();
    for (const { where, expr } of uses) {
      for (const name of metricNames(expr)) {
        named.add(name);
        if (!types.has(family(name, types))) missing.push(`${where}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
    // the kit covers the failure signals the alerts are about
    for (const m of [
      'lingua_pool_nodes',
      'lingua_dlq_entries_total',
      'lingua_inbox_pending',
      'lingua_failovers_total',
      'lingua_redis_errors_total',
    ]) {
      expect(named).toContain(m);
    }
  });

  it('the parser sees metric names, not label names or values', () => {
    expect(
      metricNames('sum by (instance_id) (rate(lingua_redis_errors_total{op="lingua_x"}[5m])) > 0'),
    ).toEqual(['lingua_redis_errors_total']);
    expect(
      metricNames('histogram_quantile(0.99, sum by (le) (rate(lingua_e2e_seconds_bucket[5m])))'),
    ).toEqual(['lingua_e2e_seconds_bucket']);
  });

  it('rules select the scrape job Prometheus defines', () => {
    const prom = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string }[];
      rule_files: string[];
    };
    const jobs = new Set(prom.scrape_configs.map((s) => s.job_name));
    const selected = ruleExprs().flatMap(({ expr }) =>
      [...expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1]!),
    );
    expect(selected.length).toBeGreaterThan(0);
    for (const job of selected) expect(jobs).toContain(job);
    expect(prom.rule_files).toContain('/etc/prometheus/alerts.yml');
  });

  it('dashboards are well-formed: unique panel ids, a query per panel, the datasource variable', () => {
    for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as {
        uid: string;
        panels: (Panel & { datasource?: { uid: string }; gridPos: { x: number; w: number } })[];
        templating: { list: { name: string; type: string }[] };
      };
      expect(d.uid).toMatch(/^[a-z0-9-]+$/);
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(d.templating.list).toContainEqual(
        expect.objectContaining({ name: 'datasource', type: 'datasource' }),
      );
      for (const p of d.panels) {
        expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
        if (p.type === 'row') continue;
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
        expect(p.datasource?.uid, p.title).toBe(DATASOURCE_VAR);
      }
    }
  });
});
