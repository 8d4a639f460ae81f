/** Minimal raw WebSocket peers for gateway tests that must control every frame. */
import { createHash } from 'node:crypto';
import { decodeBinaryFrame, parseServerToClientFrame, parseServerToNodeFrame } from '@lingua/protocol';
import WebSocket from 'ws';

/**
 * Loaded on first use, not at import: the vitest setup file imports this module, and loading
 * @lingua/gateway that early would read test-only fault settings (LINGUA_FAULT_*) before a test
 * file sets them.
 */
const auth = () => import('./auth');

/**
 * Every frame a gateway sends to a RawPeer is checked against the protocol schemas; the test
 * setup (test/support/setup.ts) fails any test during which a violation was recorded.
 */
export const contractViolations: string[] = [];

/**
 * A binary frame (docs/protocol.md "Binary frames") as the JSON text it stands for: the header
 * with its audio put back as base64; a description that fails to parse when it is malformed.
 */
export function binaryAsText(bytes: Uint8Array): string {
  const d = decodeBinaryFrame(bytes);
  if (!d.ok) return `<bad binary frame: ${d.message}>`;
  const t = d.frame.type;
  const field = t === 'job_assign' ? 'audio' : t.endsWith('_result') ? 'tts_audio' : 'data';
  return JSON.stringify({ ...d.frame, [field]: Buffer.from(d.audio).toString('base64') });
}

export function simOutput(audio: Buffer, src: string, tgt: string) {
  const h = createHash('sha256').update(audio).digest('hex').slice(0, 16);
  return { text_asr: `${src}:${h}`, text_translated: `${tgt}:${h}` };
}

/** The simulated node's language ID in two-way mode (v1.11; node-sdk simulatedDirection). */
export function simDirection(audio: Buffer, a: string, b: string): { src: string; tgt: string } {
  const first = createHash('sha256').update(audio).digest()[0]!;
  return (first & 1) === 0 ? { src: a, tgt: b } : { src: b, tgt: a };
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
  /** binary frames (v1.12 job_assign, v1.13 results with TTS), as they came; not in `frames` */
  readonly binaryFrames: Buffer[] = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(
    readonly ws: WebSocket,
    kind: 'session' | 'node',
  ) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const buf = data as Buffer;
        this.binaryFrames.push(buf);
        // The contract: its header with the audio put back as base64 is a valid frame.
        const text = binaryAsText(buf);
        const parsed = kind === 'session' ? parseServerToClientFrame(text) : parseServerToNodeFrame(text);
        if (!parsed.ok)
          contractViolations.push(`${kind}: binary frame: ${parsed.message} in ${text.slice(0, 200)}`);
        return;
      }
      const text = data.toString();
      const parsed = kind === 'session' ? parseServerToClientFrame(text) : parseServerToNodeFrame(text);
      if (!parsed.ok) contractViolations.push(`${kind}: ${parsed.message} in ${text.slice(0, 200)}`);
      this.frames.push(JSON.parse(text));
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }
  /**
   * Opens a socket. A session socket presents a test session token as `Authorization: Bearer`
   * unless `token` says otherwise (null: none; a string: that one). Node sockets present none
   * (their token goes in node_register) unless given.
   */
  static async connect(url: string, opts: { token?: string | null } = {}): Promise<RawPeer> {
    const kind = url.includes('/ws/node') ? 'node' : 'session';
    const token =
      opts.token === undefined && kind === 'session' ? await (await auth()).sessionToken() : opts.token;
    const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const peer = new RawPeer(ws, kind);
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
  /** The first `n` frames of `type`, once there are that many (a bound that catches hangs). */
  async next(type: string, n = 1, timeoutMs?: number): Promise<Record<string, unknown>[]> {
    try {
      return await until(
        () => (this.ofType(type).length >= n ? this.ofType(type) : null),
        `${n} × ${type}`,
        timeoutMs,
      );
    } catch (err) {
      // Say what did arrive: an error frame or a close is the usual reason a wait never ends.
      const seen = this.frames.map((f) => (f.type === 'error' ? JSON.stringify(f) : f.type)).slice(-10);
      const closed = this.closed ? `closed ${this.closed.code} ${this.closed.reason}` : 'open';
      throw new Error(
        `${(err as Error).message}; socket ${closed}; last frames: ${seen.join(', ') || 'none'}`,
      );
    }
  }
  close(): void {
    this.ws.close();
  }
}

export interface NodeBehaviour {
  asr?: string[];
  tts?: string[];
  max?: number;
  /** accept jobs but never answer */
  silent?: boolean;
  /** answer success:false (retryable) */
  fail?: boolean;
  /** send node_heartbeat every N ms (0 = never) */
  heartbeatMs?: number;
  /** two-way jobs (v1.11): answer this direction instead of the detected one (null: none) */
  direction?: { src: string; tgt: string } | null;
  /** node_register.token: default a test token for exactly this id; null = none */
  token?: string | null;
}

export interface TestNode extends RawPeer {
  behaviour: NodeBehaviour;
  assigns: Record<string, unknown>[];
  stopHeartbeat(): void;
}

/** A node that answers every job like the simulated node (behaviour switchable at run time). */
export async function rawNode(url: string, nodeId: string, behaviour: NodeBehaviour = {}): Promise<TestNode> {
  // The token first: loading the auth helpers can take seconds on a busy machine, longer than a
  // gateway's LINGUA_INIT_TIMEOUT_MS lets an open socket wait for node_register.
  const token = behaviour.token === undefined ? await (await auth()).nodeToken(nodeId) : behaviour.token;
  const peer = (await RawPeer.connect(url)) as TestNode;
  peer.behaviour = behaviour;
  peer.assigns = [];
  peer.ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.type !== 'job_assign') return;
    peer.assigns.push(f);
    const b = peer.behaviour;
    if (b.silent) return;
    peer.send({ type: 'job_accepted', job_id: f.job_id, attempt: f.attempt });
    if (b.fail) {
      peer.send({
        type: 'job_result',
        job_id: f.job_id,
        attempt: f.attempt,
        success: false,
        error: { code: 'NODE_FAILURE', message: 'test failure', retryable: true },
      });
      return;
    }
    const audio = Buffer.from(f.audio, 'base64');
    const twoWay = f.features?.two_way === true;
    const dir = twoWay ? simDirection(audio, f.src_lang, f.tgt_lang) : { src: f.src_lang, tgt: f.tgt_lang };
    const out = simOutput(audio, dir.src, dir.tgt);
    const said = b.direction === undefined ? dir : b.direction;
    peer.send({
      type: 'job_result',
      job_id: f.job_id,
      attempt: f.attempt,
      success: true,
      ...out,
      ...(twoWay && said ? { src_lang: said.src, tgt_lang: said.tgt } : {}),
      processing_ms: 1,
    });
  });
  peer.send({
    type: 'node_register',
    node_id: nodeId,
    ...(token ? { token } : {}),
    version: '1.0.0',
    platform: 'linux-x64',
    services: ['asr', 'nmt', 'tts'],
    asr_langs: behaviour.asr ?? ['zh', 'en'],
    tts_langs: behaviour.tts ?? ['zh', 'en'],
    max_concurrent_jobs: behaviour.max ?? 4,
  });
  await peer.next('node_register_ack');
  let timer: NodeJS.Timeout | undefined;
  if (behaviour.heartbeatMs) {
    timer = setInterval(() => {
      if (peer.ws.readyState === peer.ws.OPEN) peer.send({ type: 'node_heartbeat', running_jobs: 0 });
    }, behaviour.heartbeatMs);
  }
  peer.stopHeartbeat = () => clearInterval(timer);
  peer.ws.on('close', () => clearInterval(timer));
  return peer;
}
