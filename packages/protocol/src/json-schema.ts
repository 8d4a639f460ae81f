/**
 * Plain JSON Schema (2020-12) documents built from the TypeBox schemas, for people who
 * implement clients/nodes in other languages. Pure: `write-schema.ts` does the I/O.
 */
import type { TSchema } from '@sinclair/typebox';
import { BASE64_PATTERN } from './schemas/common';
import {
  ClientMessageSchemas,
  NodeMessageSchemas,
  ServerToClientMessageSchemas,
  ServerToNodeMessageSchemas,
} from './schemas/messages';

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
/** Base of every `$id`; files are `<base><type>.json` and `<base>index.json`. */
export const SCHEMA_BASE_URI = 'https://lingua.local/schema/protocol/v1/';

export const SCHEMA_DIRECTIONS = {
  client_frame: { title: 'client → server (ws /ws/session)', schemas: ClientMessageSchemas },
  server_to_client_frame: {
    title: 'server → client (ws /ws/session)',
    schemas: ServerToClientMessageSchemas,
  },
  node_frame: { title: 'node → server (ws /ws/node)', schemas: NodeMessageSchemas },
  server_to_node_frame: { title: 'server → node (ws /ws/node)', schemas: ServerToNodeMessageSchemas },
} as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Drops TypeBox's symbol keys and swaps the runtime-only `format: base64` (checked by a
 * registered function) for a portable pattern plus `contentEncoding`.
 */
function toPlain(node: Json): Json {
  if (Array.isArray(node)) return node.map(toPlain);
  if (node === null || typeof node !== 'object') return node;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(node)) out[k] = toPlain(v);
  if (out.format === 'base64') {
    delete out.format;
    out.pattern = BASE64_PATTERN;
    out.contentEncoding = 'base64';
  }
  return out;
}

export function messageJsonSchema(
  type: string,
  schema: TSchema,
  directions: string[],
): { [k: string]: Json } {
  const plain = toPlain(JSON.parse(JSON.stringify(schema)) as Json) as { [k: string]: Json };
  return {
    $schema: JSON_SCHEMA_DIALECT,
    $id: `${SCHEMA_BASE_URI}${type}.json`,
    title: type,
    description: `Lingua wire protocol v1 message "${type}" (${directions.join('; ')}). Unknown fields are ignored.`,
    ...plain,
  };
}

/** File name → JSON document: one per message type, plus `index.json` bundling them all. */
export function buildJsonSchemas(): Map<string, { [k: string]: Json }> {
  const directionsOf = new Map<string, { schema: TSchema; directions: string[] }>();
  for (const { title, schemas } of Object.values(SCHEMA_DIRECTIONS)) {
    for (const [type, schema] of Object.entries(schemas)) {
      const entry = directionsOf.get(type) ?? { schema: schema as TSchema, directions: [] as string[] };
      entry.directions.push(title);
      directionsOf.set(type, entry);
    }
  }
  const files = new Map<string, { [k: string]: Json }>();
  const defs: { [k: string]: Json } = {};
  for (const [type, { schema, directions }] of directionsOf) {
    const doc = messageJsonSchema(type, schema, directions);
    files.set(`${type}.json`, doc);
    defs[type] = doc;
  }
  for (const [name, { title, schemas }] of Object.entries(SCHEMA_DIRECTIONS)) {
    defs[name] = { title, oneOf: Object.keys(schemas).map((type) => ({ $ref: `${type}.json` })) };
  }
  files.set('index.json', {
    $schema: JSON_SCHEMA_DIALECT,
    $id: `${SCHEMA_BASE_URI}index.json`,
    title: 'Lingua wire protocol v1',
    description: 'Any frame of any direction; see $defs/<direction>_frame for one direction.',
    $defs: defs,
    anyOf: Object.keys(SCHEMA_DIRECTIONS).map((name) => ({ $ref: `#/$defs/${name}` })),
  });
  return files;
}
