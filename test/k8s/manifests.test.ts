/**
 * deploy/k8s without a cluster: every manifest file and every rendered overlay validates against
 * the Kubernetes API schemas (no unknown fields either), and the pieces fit together: shutdown
 * timing (preStop + LINGUA_DRAIN_TIMEOUT_MS + the process's own bound fit in
 * terminationGracePeriodSeconds), selectors of Services, PodDisruptionBudgets, the HPA and the
 * NetworkPolicy match the workloads, only gateways may reach Redis, gateways reach Redis through
 * the sentinels of the StatefulSet, credentials come from the Secret the docs tell operators to
 * create, and the Redis start scripts parse.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { authenticatorFor } from '@lingua/gateway';
import { describe, expect, it } from 'vitest';
import { type Container, containersOf, type Manifest, podSpecOf, readManifests, render } from './kustomize';
import { validateManifest } from './validate';

const ROOT = resolve(import.meta.dirname, '../..');
const K8S = join(ROOT, 'deploy/k8s');
const OVERLAYS = readdirSync(join(K8S, 'overlays')).sort();
const CREDENTIALS = 'lingua-credentials';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' ? [p] : [];
  });
}

const rendered = new Map(OVERLAYS.map((o) => [o, render(join(K8S, 'overlays', o))]));

function find(ms: Manifest[], kind: string, name: string): Manifest {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`${kind}/${name} missing`);
  return m;
}

function env(c: Container): Map<string, { value?: string; valueFrom?: any }> {
  return new Map(((c.env as any[]) ?? []).map((e) => [e.name, e]));
}

function podLabels(m: Manifest): Record<string, string> {
  return ((m.spec as any).template?.metadata?.labels ?? {}) as Record<string, string>;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The gateway's own hard bound after the drain (packages/gateway/src/main.ts: drainTimeoutMs + N). */
function processExitMarginMs(): number {
  const main = readFileSync(join(ROOT, 'packages/gateway/src/main.ts'), 'utf8');
  const m = /cfg\.drainTimeoutMs \+ (\d[\d_]*)/.exec(main);
  if (!m) throw new Error('main.ts: the drain bound (cfg.drainTimeoutMs + N) is not where this test looks');
  return Number(m[1]!.replace(/_/g, ''));
}

describe('Kubernetes manifests', () => {
  it('has the overlays the docs describe', () => {
    expect(OVERLAYS).toEqual(['dev', 'production']);
  });

  it('every manifest file is valid against the Kubernetes schemas', () => {
    const problems: string[] = [];
    const files = yamlFiles(K8S);
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) {
      for (const m of readManifests(f)) {
        for (const p of validateManifest(m))
          problems.push(`${relative(ROOT, f)} ${m.kind}/${m.metadata?.name}: ${p}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(OVERLAYS)('overlay %s renders to valid objects with unique names', (overlay) => {
    const ms = rendered.get(overlay)!;
    const problems: string[] = [];
    for (const m of ms) {
      for (const p of validateManifest(m)) problems.push(`${m.kind}/${m.metadata.name}: ${p}`);
    }
    expect(problems).toEqual([]);
    const ids = ms.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of ms) expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toMatch(/^lingua/);
    for (const kind of [
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'StatefulSet',
      'NetworkPolicy',
    ]) {
      expect(ms.map((m) => m.kind)).toContain(kind);
    }
  });

  it.each(OVERLAYS)('overlay %s: shutdown fits in terminationGracePeriodSeconds', (overlay) => {
    const ms = rendered.get(overlay)!;
    const gw = find(ms, 'Deployment', 'lingua-gateway');
    const pod = podSpecOf(gw)!;
    const c = pod.containers.find((x) => x.name === 'gateway')!;
    const drainMs = Number(env(c).get('LINGUA_DRAIN_TIMEOUT_MS')?.value);
    expect(drainMs).toBeGreaterThan(0);
    expect(drainMs).toBeLessThanOrEqual(600_000); // config.ts bound
    const preStop = (c.lifecycle as any)?.preStop;
    const preStopMs =
      preStop?.sleep?.seconds !== undefined
        ? preStop.sleep.seconds * 1000
        : Number(/^sleep$/.test(preStop?.exec?.command?.[0]) ? preStop.exec.command[1] : Number.NaN) * 1000;
    expect(preStopMs, 'a preStop pause so endpoints drop the pod before SIGTERM').toBeGreaterThanOrEqual(
      5000,
    );
    const graceMs = (pod.terminationGracePeriodSeconds as number) * 1000;
    expect(graceMs).toBeGreaterThanOrEqual(preStopMs + drainMs + processExitMarginMs() + 1000);
    // rolling updates never drop below the desired count; the PDB allows one voluntary eviction
    expect((gw.spec as any).strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(find(ms, 'PodDisruptionBudget', 'lingua-gateway').spec).toMatchObject({ maxUnavailable: 1 });

    // simulated nodes drain (--grace-ms) within their grace period too
    for (const d of ms.filter((m) => m.kind === 'Deployment' && m !== gw)) {
      const p = podSpecOf(d)!;
      const args = (p.containers[0]!.args as string[]) ?? [];
      const i = args.indexOf('--grace-ms');
      const nodeGraceMs = i >= 0 ? Number(args[i + 1]) : 3000;
      expect((p.terminationGracePeriodSeconds as number) * 1000).toBeGreaterThanOrEqual(nodeGraceMs + 2000);
    }
  });

  it.each(OVERLAYS)('overlay %s: selectors match their workloads; only gateways reach Redis', (overlay) => {
    const ms = rendered.get(overlay)!;
    const workloads = ms.filter((m) => ['Deployment', 'StatefulSet'].includes(m.kind));
    for (const w of workloads) expect(selects((w.spec as any).selector.matchLabels, podLabels(w))).toBe(true);
    const matching = (sel: Record<string, string>) => workloads.filter((w) => selects(sel, podLabels(w)));
    for (const s of ms.filter((m) => m.kind === 'Service')) {
      expect(matching((s.spec as any).selector).length, `Service ${s.metadata.name}`).toBe(1);
    }
    for (const p of ms.filter((m) => m.kind === 'PodDisruptionBudget')) {
      expect(matching((p.spec as any).selector.matchLabels).length, `PDB ${p.metadata.name}`).toBe(1);
    }
    const hpa = find(ms, 'HorizontalPodAutoscaler', 'lingua-gateway').spec as any;
    expect(find(ms, hpa.scaleTargetRef.kind, hpa.scaleTargetRef.name)).toBeDefined();
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    // the HPA owns the replica count: a `replicas` in the Deployment would fight it on every apply
    expect((find(ms, 'Deployment', 'lingua-gateway').spec as any).replicas).toBeUndefined();

    const gw = find(ms, 'Deployment', 'lingua-gateway');
    const redis = find(ms, 'StatefulSet', 'lingua-redis');
    const policies = ms.filter((m) => m.kind === 'NetworkPolicy');
    const guarding = policies.filter((p) =>
      selects((p.spec as any).podSelector.matchLabels, podLabels(redis)),
    );
    expect(guarding.length).toBe(1);
    const spec = guarding[0]!.spec as any;
    expect(spec.policyTypes).toContain('Ingress');
    const allowedFrom = spec.ingress.flatMap((r: any) => r.from.map((f: any) => f.podSelector?.matchLabels));
    // every allowed peer is a labelled pod selector, and the pods it admits are gateways or Redis
    for (const sel of allowedFrom) {
      expect(sel).toBeDefined();
      const admitted = matching(sel).map((w) => w.metadata.name);
      expect(admitted.length).toBeGreaterThan(0);
      expect(
        admitted.every((n) => n === 'lingua-gateway' || n === 'lingua-redis'),
        admitted.join(),
      ).toBe(true);
    }
    expect(allowedFrom.some((sel: Record<string, string>) => selects(sel, podLabels(gw)))).toBe(true);
    for (const w of workloads.filter((x) => x !== gw && x !== redis)) {
      expect(
        allowedFrom.some((sel: Record<string, string>) => selects(sel, podLabels(w))),
        w.metadata.name,
      ).toBe(false);
    }
  });

  it.each(OVERLAYS)(
    'overlay %s: gateways reach Redis through the sentinels of the StatefulSet',
    (overlay) => {
      const ms = rendered.get(overlay)!;
      const gw = podSpecOf(find(ms, 'Deployment', 'lingua-gateway'))!.containers[0]!;
      const url = env(gw).get('LINGUA_REDIS_URL')?.value ?? '';
      const m = /^redis\+sentinel:\/\/([^/]+)\/([^/]+)$/.exec(url);
      expect(m, url).not.toBeNull();
      const sts = find(ms, 'StatefulSet', 'lingua-redis');
      const spec = sts.spec as any;
      const svc = find(ms, 'Service', spec.serviceName);
      expect((svc.spec as any).clusterIP).toBe('None');
      const expected = Array.from(
        { length: spec.replicas },
        (_, i) => `lingua-redis-${i}.${spec.serviceName}:26379`,
      );
      expect(m![1]!.split(',')).toEqual(expected);
      expect(spec.replicas).toBeGreaterThanOrEqual(3); // a Sentinel quorum survives one pod
      const sentinel = podSpecOf(sts)!.containers.find((c) => c.name === 'sentinel')!;
      expect((sentinel.ports as any[]).map((p) => p.containerPort)).toContain(26379);
      const scripts = (find(ms, 'ConfigMap', 'lingua-redis') as any).data as Record<string, string>;
      expect(scripts['start-sentinel.sh']).toContain(`sentinel monitor ${m![2]} `);
      // the scripts are valid sh
      for (const [name, body] of Object.entries(scripts).filter(([n]) => n.endsWith('.sh'))) {
        expect(() => execFileSync('sh', ['-n'], { input: body }), name).not.toThrow();
      }
    },
  );

  it.each(OVERLAYS)('overlay %s: credentials come from the lingua-credentials Secret', async (overlay) => {
    const ms = rendered.get(overlay)!;
    const required = new Set<string>();
    const gatewayRequired = new Set<string>();
    const gw = podSpecOf(find(ms, 'Deployment', 'lingua-gateway'))!.containers[0]!;
    for (const c of ms.flatMap(containersOf)) {
      for (const e of env(c).values()) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) continue;
        expect(ref.name).toBe(CREDENTIALS);
        if (!ref.optional) required.add(ref.key);
        if (!ref.optional && c === gw) gatewayRequired.add(ref.key);
      }
      // no credential as a literal value
      for (const [name, e] of env(c))
        if (/SECRET|TOKEN|PASSWORD/.test(name)) expect(e.value, name).toBeUndefined();
    }
    expect([...gatewayRequired].sort()).toEqual([
      'LINGUA_ADMIN_TOKEN',
      'LINGUA_NODE_JWT_SECRET',
      'LINGUA_SESSION_JWT_SECRET',
    ]);
    // Redis, its sentinels and the gateways share one optional password
    const redisPod = podSpecOf(find(ms, 'StatefulSet', 'lingua-redis'))!;
    const redisKeys = redisPod.containers.map((c) => env(c).get('REDIS_PASSWORD')?.valueFrom?.secretKeyRef);
    for (const name of ['LINGUA_REDIS_PASSWORD', 'LINGUA_REDIS_SENTINEL_PASSWORD']) {
      const ref = env(gw).get(name)?.valueFrom?.secretKeyRef;
      expect(ref, name).toMatchObject({ name: CREDENTIALS, key: 'LINGUA_REDIS_PASSWORD', optional: true });
    }
    for (const ref of redisKeys) expect(ref).toMatchObject({ key: 'LINGUA_REDIS_PASSWORD', optional: true });
    const secret = ms.find((m) => m.kind === 'Secret' && m.metadata.name === CREDENTIALS);
    if (overlay === 'production') {
      // never committed: the kustomization tells the operator how to create it, key by key
      expect(secret).toBeUndefined();
      const howTo = readFileSync(join(K8S, 'overlays/production/kustomization.yaml'), 'utf8');
      for (const key of [...required, 'LINGUA_REDIS_PASSWORD'])
        expect(howTo).toContain(`--from-literal=${key}=`);
      for (const c of ms.flatMap(containersOf)) expect(c.image, c.name).toMatch(/:(?!latest$)[\w.-]+$/);
    } else {
      const data = (secret as any).stringData as Record<string, string>;
      for (const key of required) expect(data[key]?.length ?? 0, key).toBeGreaterThanOrEqual(32);
    }
    // a simulated node gets a node token for its pod name, never a signing secret
    for (const d of ms.filter((m) => m.kind === 'Deployment' && m.metadata.name !== 'lingua-gateway')) {
      const c = podSpecOf(d)!.containers[0]!;
      expect(
        [...env(c).keys()].filter((k) => /JWT|ADMIN/.test(k)),
        d.metadata.name,
      ).toEqual([]);
      const key = env(c).get('LINGUA_NODE_TOKEN')?.valueFrom?.secretKeyRef?.key;
      expect(key, d.metadata.name).toBe('LINGUA_NODE_TOKEN');
      const data = (secret as any).stringData as Record<string, string>;
      const auth = authenticatorFor({
        sessionJwtSecret: data.LINGUA_SESSION_JWT_SECRET!,
        sessionJwtPublicKey: '',
        nodeJwtSecret: data.LINGUA_NODE_JWT_SECRET!,
        nodeJwtPublicKey: '',
        adminToken: data.LINGUA_ADMIN_TOKEN!,
      });
      // the id a pod of this Deployment registers with (--node-id $(POD_NAME))
      const args = (c.args as string[]) ?? [];
      expect(args[args.indexOf('--node-id') + 1]).toBe('$(POD_NAME)');
      const v = await auth.authorizeNode(`${d.metadata.name}-7d9c8b6f5-x2k4q`, data[key!], undefined);
      expect(v, 'the committed node token is valid for the pods').toMatchObject({ ok: true });
      // still valid a year from now (it expires; re-mint with the command in secret.yaml)
      const exp = (v as { claims: { exp: number } }).claims.exp;
      expect(exp * 1000).toBeGreaterThan(Date.now() + 365 * 86_400_000);
    }
  });

  it.each(OVERLAYS)('overlay %s: no password or token on a command line (argv shows in ps)', (overlay) => {
    const ms = rendered.get(overlay)!;
    const argv: string[] = [];
    for (const c of ms.flatMap(containersOf)) {
      argv.push(...((c.command as string[]) ?? []), ...((c.args as string[]) ?? []));
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe] as any[])
        argv.push(...(probe?.exec?.command ?? []));
      argv.push(...(((c.lifecycle as any)?.preStop?.exec?.command as string[]) ?? []));
    }
    const scripts = Object.values(
      (find(ms, 'ConfigMap', 'lingua-redis') as any).data as Record<string, string>,
    );
    const risky = /(^|\s)(-a|--pass|--requirepass|--masterauth|--token)(\s|=|$)|--from-literal/;
    for (const text of [...argv, ...scripts]) expect(risky.test(text), text).toBe(false);
    // the password reaches redis-cli through REDISCLI_AUTH, redis-server through a config file
    const joined = [...argv, ...scripts].join('\n');
    for (const m of joined.matchAll(/[^\n]*\$\{?REDIS_PASSWORD[^\n]*/g)) {
      expect(m[0], m[0]).toMatch(
        /REDISCLI_AUTH=|echo "(requirepass|masterauth|sentinel auth-pass)|-[nz] "\$\{?REDIS_PASSWORD/,
      );
    }
  });
});
