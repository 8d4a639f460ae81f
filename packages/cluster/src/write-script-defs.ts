/**
 * `npm run scripts:gen`: writes script-defs.gen.ts (one typed descriptor per Lua script) from
 * the script headers. A test fails when the committed file drifts from the headers.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseScriptHeader } from './script-header';

const HERE = dirname(fileURLToPath(import.meta.url));
export const SCRIPT_DEFS_FILE = join(HERE, 'script-defs.gen.ts');
const LUA = resolve(HERE, '../../../lua');

const q = (s: string) => `'${s.replace(/\s+/g, ' ').replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The generated module's source for the scripts in `dir`. */
export function renderScriptDefs(dir = LUA): string {
  const lines = [
    '// Generated from the Lua script headers by `npm run scripts:gen` (write-script-defs.ts).',
    '// Do not edit: change the header of the .lua file and run the generator.',
    "import type { ScriptDef } from './scripts';",
    '',
    'export const SCRIPTS = {',
  ];
  for (const file of readdirSync(dir).sort()) {
    if (!/^.+-\d+\.lua$/.test(file)) continue;
    const h = parseScriptHeader(file, readFileSync(join(dir, file), 'utf8'));
    lines.push(`  ${h.name}: {`);
    lines.push(`    name: ${q(h.name)},`);
    lines.push(`    file: ${q(h.file)},`);
    lines.push(`    keys: [${h.keys.map(q).join(', ')}],`);
    lines.push(`    args: [${h.args.map(q).join(', ')}],`);
    lines.push(`    rest: ${h.rest === false ? 'false' : q(h.rest)},`);
    lines.push('  },');
  }
  lines.push('} as const satisfies Record<string, ScriptDef>;', '');
  lines.push('export type ScriptName = keyof typeof SCRIPTS;', '');
  return lines.join('\n');
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  writeFileSync(SCRIPT_DEFS_FILE, renderScriptDefs());
  console.log(`wrote ${SCRIPT_DEFS_FILE}`);
}
