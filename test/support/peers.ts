/** Minimal raw WebSocket peers for gateway tests that must control every frame. */
import { createHash } from 'node:crypto';
import WebSocket from 'ws';

export function simOutput(audio: Buffer, src: string, tgt: string) {
  const h = createHash('sha256').update(audio).digest('hex').slice(0, 16);
  return { text_asr: `${src}:${h}`, text_translated: `${tgt}:${h}` };
}

export async function until<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A WebSocket that records every frame it receives. */
export class RawPeer {
  readonly frames: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(data.toString())));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }
  static async connect(url: string): Promise<RawPeer> {
    const ws = new WebSocket(url);
    const peer = new RawPeer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return peer;
  }
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  ofType(type: string): Record<string, unknown>[] {
    return this.frames.filter((f) => f.type === type);
  }
  async next(type: string, n = 1): Promise<Record<string, unknown>[]> {
    return until(() => (this.ofType(type).length >= n ? this.ofType(type) : null), `${n} × ${type}`);
  }
  close(): void {
    this.ws.close();
  }
}

/** A node that answers every job like the simulated node (unless told to stay silent). */
export async function rawNode(
  url: string,
  nodeId: string,
  opts: { asr?: string[]; tts?: string[]; max?: number; silent?: boolean } = {},
): Promise<RawPeer> {
  const peer = await RawPeer.connect(url);
  peer.ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.type !== 'job_assign' || opts.silent) return;
    peer.send({ type: 'job_accepted', job_id: f.job_id, attempt: f.attempt });
    const out = simOutput(Buffer.from(f.audio, 'base64'), f.src_lang, f.tgt_lang);
    peer.send({
      type: 'job_result',
      job_id: f.job_id,
      attempt: f.attempt,
      success: true,
      ...out,
      processing_ms: 1,
    });
  });
  peer.send({
    type: 'node_register',
    node_id: nodeId,
    version: '1.0.0',
    platform: 'linux-x64',
    services: ['asr', 'nmt', 'tts'],
    asr_langs: opts.asr ?? ['zh', 'en'],
    tts_langs: opts.tts ?? ['zh', 'en'],
    max_concurrent_jobs: opts.max ?? 4,
  });
  await peer.next('node_register_ack');
  return peer;
}
