/**
 * `npm run schema`: writes schema/<type>.json for every message type and schema/index.json.
 * An optional argument overrides the output directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildJsonSchemas } from './json-schema';

export const DEFAULT_SCHEMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schema');

/** Writes every schema file into `outDir` and returns the paths written. */
export function writeSchemas(outDir: string = DEFAULT_SCHEMA_DIR): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const [name, doc] of buildJsonSchemas()) {
    const path = join(outDir, name);
    writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
    written.push(path);
  }
  return written;
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const written = writeSchemas(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_SCHEMA_DIR);
  for (const path of written) console.log(`wrote ${path}`);
  console.log(`${written.length} schema files`);
}
