/**
 * Reads the wire contract (docs/protocol.md) at test time and extracts its examples, so the
 * tests prove the documented frames parse rather than hand-copied ones.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');

export const PROTOCOL_DOC = resolve(repo, 'docs/protocol.md');

export function readProtocolDoc(): string {
  return readFileSync(PROTOCOL_DOC, 'utf8');
}

export type Direction = 'client' | 'server_to_client' | 'node' | 'server_to_node';

const SECTION_DIRECTION: Record<string, Direction> = {
  'Session: client → server': 'client',
  'Session: server → client': 'server_to_client',
  'Node: node → server': 'node',
  'Node: server → node': 'server_to_node',
  'Rooms: client → server': 'client',
  'Rooms: server → client': 'server_to_client',
};

/** Removes `//` comments outside string literals. */
export function stripLineComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

/** Splits a run of concatenated JSON objects (possibly spanning lines) into their sources. */
export function splitTopLevelObjects(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(text.slice(start, i + 1));
  }
  if (depth !== 0) throw new Error('unbalanced braces in a docs/protocol.md example');
  return out;
}

export const EXAMPLE_BASE64 = 'AAECAwQFBgcICQoLDA0ODw=='; // bytes 0..15

/** `"<base64…>"` → real base64; any other `…` placeholder → `example-<key>`. */
export function fillPlaceholders(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value.startsWith('<base64')) return EXAMPLE_BASE64;
  if (value.includes('…')) return `example-${key}`;
  return value;
}

export interface ProtocolExample {
  direction: Direction;
  /** The example as written (comments stripped, placeholders kept). */
  source: string;
  /** The example as a frame, placeholders replaced. */
  frame: string;
  type: string;
}

export function protocolExamples(doc: string = readProtocolDoc()): ProtocolExample[] {
  const out: ProtocolExample[] = [];
  let section = '';
  const blocks = doc.split(/^```/m);
  // Even pieces are prose, odd pieces are fenced blocks ("jsonc\n...").
  blocks.forEach((piece, i) => {
    if (i % 2 === 0) {
      const headings = [...piece.matchAll(/^##\s+(.+)$/gm)];
      const last = headings[headings.length - 1];
      if (last) section = last[1]!.trim();
      return;
    }
    if (!piece.startsWith('jsonc')) return;
    const direction = SECTION_DIRECTION[section];
    if (!direction) throw new Error(`jsonc block under unexpected heading "${section}"`);
    for (const source of splitTopLevelObjects(stripLineComments(piece.slice('jsonc'.length)))) {
      const value = JSON.parse(source, fillPlaceholders) as { type: string };
      out.push({ direction, source, frame: JSON.stringify(value), type: value.type });
    }
  });
  return out;
}
