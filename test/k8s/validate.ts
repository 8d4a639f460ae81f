/**
 * Validates a Kubernetes manifest against the API schemas (kubernetes-models, pinned in
 * package.json) and, unlike the schemas alone, rejects unknown fields: a typo such as
 * `terminationGracePeriodSecond` passes a schema without additionalProperties but is an error here.
 * How: the generated validators read every field they know; the manifest is validated through a
 * proxy that records those reads, and any key nobody read is unknown.
 */
import { createRequire } from 'node:module';
import type { Manifest } from './kustomize';

const require = createRequire(import.meta.url);

type Validatable = { prototype: { validate(this: unknown): void } };

/** apiVersion + kind → the model class (`kubernetes-models/apps/v1/Deployment`). */
function modelOf(apiVersion: string, kind: string): Validatable {
  if (!/^[a-z0-9.]+(\/v[0-9a-z]+)?$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) {
    throw new Error(`not a Kubernetes apiVersion/kind: ${apiVersion} ${kind}`);
  }
  try {
    const mod = require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, Validatable>;
    const model = mod[kind];
    if (!model) throw new Error('no model');
    return model;
  } catch {
    throw new Error(`unknown apiVersion/kind ${apiVersion} ${kind} (not in kubernetes-models)`);
  }
}

/** A deep proxy that records, per object, which keys were read. */
function tracked(
  value: unknown,
  path: string,
  seen: Map<object, { path: string; read: Set<string> }>,
): unknown {
  if (value === null || typeof value !== 'object') return value;
  const entry = { path, read: new Set<string>() };
  seen.set(value, entry);
  const children = new Map<string, unknown>();
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return v;
      entry.read.add(key);
      if (v === null || typeof v !== 'object') return v;
      if (!children.has(key)) children.set(key, tracked(v, `${path}/${key}`, seen));
      return children.get(key);
    },
  });
}

export function validateManifest(m: Manifest): string[] {
  const model = modelOf(m.apiVersion, m.kind);
  const seen = new Map<object, { path: string; read: Set<string> }>();
  const problems: string[] = [];
  try {
    model.prototype.validate.call(tracked(m, '', seen));
  } catch (err) {
    problems.push(String((err as Error).message));
  }
  for (const [obj, { path, read }] of seen) {
    if (Array.isArray(obj)) continue;
    for (const key of Object.keys(obj)) {
      if (!read.has(key)) problems.push(`unknown field ${path}/${key}`);
    }
  }
  return problems;
}
