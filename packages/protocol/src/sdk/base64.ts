/**
 * Dependency-free base64 for Node (Buffer) and browsers (btoa/atob). Standard alphabet with
 * padding, as docs/protocol.md uses for `data`, `audio` and `tts_audio`.
 */
interface NodeBufferStatic {
  from(data: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
  from(data: string, encoding: 'base64'): Uint8Array;
}

const NodeBuffer = (globalThis as { Buffer?: NodeBufferStatic }).Buffer;

export function toBase64(bytes: Uint8Array): string {
  // Buffer.from(arrayBuffer, offset, length) is a view, not a copy.
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return toBase64Portable(bytes);
}

export function fromBase64(text: string): Uint8Array {
  if (NodeBuffer) {
    const b = NodeBuffer.from(text, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return fromBase64Portable(text);
}

/** The browser path (btoa), exported for tests. Encodes in slices so large inputs do not overflow the stack. */
export function toBase64Portable(bytes: Uint8Array): string {
  const slice = 0x6000; // a multiple of 3, so the slices concatenate without inner padding
  let out = '';
  for (let i = 0; i < bytes.length; i += slice) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + slice)));
  }
  return out;
}

/** The browser path (atob), exported for tests. */
export function fromBase64Portable(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
