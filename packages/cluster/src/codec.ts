/** Binary encoding of everything we put inside Redis (stream envelopes, result blobs): msgpack. */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode<T = unknown>(buf: Buffer | Uint8Array): T {
  return packr.unpack(buf) as T;
}

/** Parses a JSON object stored in a hash field; anything else (absent, malformed, not an object) is {}. */
export function parseJsonObject(s: string | undefined | null): Record<string, unknown> {
  try {
    const v = s ? JSON.parse(s) : {};
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
