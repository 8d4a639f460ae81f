/**
 * A small renderer for the subset of kustomize that deploy/k8s uses, so tests can render the
 * overlays without kubectl: `resources` (files and kustomization directories), `namespace`,
 * `images` (newName/newTag) and `patches` with inline JSON 6902 operations selected by kind and
 * name. Anything else in a kustomization.yaml is an error, so the manifests cannot drift into
 * features this renderer would silently ignore. Order as in kustomize: a base is rendered with
 * its own transformations first, then the overlay's patches, images and namespace apply.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { target: { kind: string; name: string }; patch: string }[];
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);
/** Kinds without a namespace (of those a Lingua deployment could contain). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'IngressClass',
]);

export function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

export function render(dir: string): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unknown.length) throw new Error(`${file}: unsupported kustomize fields ${unknown.join(', ')}`);
  let out: Manifest[] = [];
  for (const r of k.resources ?? []) {
    const path = resolve(dir, r);
    out.push(...(statSync(path).isDirectory() ? render(path) : readManifests(path)));
  }
  out = structuredClone(out);
  for (const p of k.patches ?? []) {
    const hits = out.filter((m) => m.kind === p.target.kind && m.metadata.name === p.target.name);
    if (hits.length !== 1)
      throw new Error(`${file}: patch target ${p.target.kind}/${p.target.name} matched ${hits.length}`);
    applyJsonPatch(hits[0]!, parse(p.patch) as JsonPatchOp[], `${file} → ${p.target.kind}/${p.target.name}`);
  }
  for (const img of k.images ?? []) {
    let used = 0;
    for (const c of out.flatMap(containersOf)) {
      if (imageName(c.image) !== img.name) continue;
      used++;
      const tag = img.newTag ?? imageTag(c.image);
      c.image = `${img.newName ?? img.name}${tag ? `:${tag}` : ''}`;
    }
    if (!used) throw new Error(`${file}: image ${img.name} is used by no container`);
  }
  if (k.namespace) {
    for (const m of out) if (!CLUSTER_SCOPED.has(m.kind)) m.metadata.namespace = k.namespace;
  }
  return out;
}

export interface Container {
  name: string;
  image: string;
  [k: string]: unknown;
}

/** The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job, Pod), if any. */
export function podSpecOf(
  m: Manifest,
): { containers: Container[]; initContainers?: Container[]; [k: string]: unknown } | undefined {
  const spec = m.spec as Record<string, any> | undefined;
  if (!spec) return undefined;
  if (m.kind === 'Pod') return spec as never;
  if (m.kind === 'CronJob') return spec.jobTemplate?.spec?.template?.spec;
  return spec.template?.spec;
}

export function containersOf(m: Manifest): Container[] {
  const pod = podSpecOf(m);
  return pod ? [...(pod.initContainers ?? []), ...pod.containers] : [];
}

function imageName(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

function imageTag(image: string): string | undefined {
  const name = imageName(image);
  return image.length > name.length && image[name.length] === ':' ? image.slice(name.length + 1) : undefined;
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** RFC 6902 add / replace / remove on a JSON document, in place; throws on a bad path. */
export function applyJsonPatch(doc: unknown, ops: JsonPatchOp[], where = 'patch'): void {
  for (const op of ops) {
    if (!['add', 'replace', 'remove'].includes(op.op)) throw new Error(`${where}: unsupported op ${op.op}`);
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    if (last === undefined) throw new Error(`${where}: empty path`);
    let node: any = doc;
    for (const p of parts) {
      node = Array.isArray(node) ? node[Number(p)] : node?.[p];
      if (node === undefined || node === null) throw new Error(`${where}: ${op.path} does not exist`);
    }
    if (Array.isArray(node)) {
      const i = last === '-' ? node.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > node.length || (op.op !== 'add' && i >= node.length)) {
        throw new Error(`${where}: bad index in ${op.path}`);
      }
      if (op.op === 'add') node.splice(i, 0, structuredClone(op.value));
      else if (op.op === 'replace') node[i] = structuredClone(op.value);
      else node.splice(i, 1);
    } else {
      if (typeof node !== 'object') throw new Error(`${where}: ${op.path} is not in an object`);
      if (op.op !== 'add' && !(last in node)) throw new Error(`${where}: ${op.path} does not exist`);
      if (op.op === 'remove') delete node[last];
      else node[last] = structuredClone(op.value);
    }
  }
}
