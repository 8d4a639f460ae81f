/** Binary encoding of everything we put inside Redis (stream envelopes, result blobs): msgpack. */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode<T = unknown>(buf: Buffer | Uint8Array): T {
  return packr.unpack(buf) as T;
}
