import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AllMessageSchemas, BASE64_PATTERN, SCHEMA_BASE_URI, SCHEMA_DIRECTIONS } from '../src/index';
import { writeSchemas } from '../src/write-schema';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lingua-schema-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const allTypes = Object.keys(AllMessageSchemas).sort();

type Doc = Record<string, unknown>;
function readAll(dir: string): Map<string, Doc> {
  const out = new Map<string, Doc>();
  for (const name of readdirSync(dir))
    out.set(name, JSON.parse(readFileSync(join(dir, name), 'utf8')) as Doc);
  return out;
}

function collect(node: unknown, key: string, acc: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const v of node) collect(v, key, acc);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) acc.push(v);
      collect(v, key, acc);
    }
  }
  return acc;
}

describe('JSON Schema writer', () => {
  const dir = tempDir();
  const written = writeSchemas(dir);
  const docs = readAll(dir);

  it('writes one valid JSON file per message type plus index.json', () => {
    expect(written.length).toBe(allTypes.length + 1);
    expect([...docs.keys()].sort()).toEqual([...allTypes.map((t) => `${t}.json`), 'index.json'].sort());
  });

  it.each(allTypes)('%s.json describes the message with a unique $id', (type) => {
    const doc = docs.get(`${type}.json`)!;
    expect(doc.$id).toBe(`${SCHEMA_BASE_URI}${type}.json`);
    expect(doc.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    // Plain objects carry the type literal; the job_result union carries it in each variant.
    const consts = collect(doc, 'const');
    expect(consts).toContain(type);
  });

  it('index.json bundles every type and every direction', () => {
    const index = docs.get('index.json')!;
    const defs = index.$defs as Record<string, Doc>;
    for (const type of allTypes) expect(defs[type]?.$id).toBe(`${SCHEMA_BASE_URI}${type}.json`);
    for (const [name, { schemas }] of Object.entries(SCHEMA_DIRECTIONS)) {
      const refs = (defs[name]!.oneOf as { $ref: string }[]).map((r) => r.$ref);
      expect(refs.sort()).toEqual(
        Object.keys(schemas)
          .map((t) => `${t}.json`)
          .sort(),
      );
    }
    const ids = new Set(Object.values(defs).map((d) => d.$id));
    for (const ref of collect(index, '$ref') as string[]) {
      if (!ref.startsWith('#')) expect(ids).toContain(new URL(ref, index.$id as string).href);
    }
  });

  it('exports base64 as a portable pattern, not the runtime-only format', () => {
    const chunk = docs.get('audio_chunk.json')! as { properties: Record<string, Doc> };
    expect(chunk.properties.data).toEqual({
      type: 'string',
      pattern: BASE64_PATTERN,
      contentEncoding: 'base64',
    });
    expect(collect(Object.fromEntries(docs), 'format')).toEqual([]);
  });

  it('keeps additional properties open and lists required fields', () => {
    const init = docs.get('session_init.json')! as { required: string[]; additionalProperties?: unknown };
    expect(init.additionalProperties).toBeUndefined();
    expect(init.required.sort()).toEqual(['audio_format', 'sample_rate', 'src_lang', 'tgt_lang', 'type']);
  });

  it('runs as a script and prints what it wrote', () => {
    const out = tempDir();
    const script = fileURLToPath(new URL('../src/write-schema.ts', import.meta.url));
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', script, out], { encoding: 'utf8' });
    for (const type of allTypes) expect(stdout).toContain(join(out, `${type}.json`));
    expect(stdout).toContain(join(out, 'index.json'));
    expect(readdirSync(out).length).toBe(allTypes.length + 1);
  });
});

describe('committed schema/', () => {
  it('matches the schemas generated from the code (run `npm run schema` after a protocol change)', () => {
    const committed = fileURLToPath(new URL('../../../schema', import.meta.url));
    const fresh = tempDir();
    writeSchemas(fresh);
    const want = readdirSync(fresh).sort();
    expect(readdirSync(committed).sort()).toEqual(want);
    for (const name of want)
      expect(readFileSync(join(committed, name), 'utf8'), `schema/${name} is stale`).toBe(
        readFileSync(join(fresh, name), 'utf8'),
      );
  });
});
