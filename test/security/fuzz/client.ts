/**
 * Sends one fuzz case and records what came back. WebSocket cases use the `ws` client (so
 * frames are well-formed at the WebSocket layer and their payloads are the attack); raw cases
 * write bytes to a TCP socket (so the HTTP layer itself is attacked). Every frame the gateway
 * sends is checked against the protocol's schemas.
 */
import net from 'node:net';
import { parseServerToClientFrame, parseServerToNodeFrame } from '@lingua/protocol';
import WebSocket from 'ws';
import { binaryAsText } from '../../support/peers';
import type { RawCase, WsCase } from './inputs';

export interface Tally {
  /** replies by kind: `error:<CODE>`, `frame:<type>`, `close:<code>`, `http:<status>`, ... */
  replies: Record<string, number>;
  /** server frames that do not match the protocol's schemas (must stay empty) */
  violations: string[];
  /** connections that neither answered the probe nor closed within the bound (must stay 0) */
  wedged: number;
  /** fuzz sessions that got a session_init_ack / nodes that got a node_register_ack */
  initialized: { session: number; node: number };
}

export function newTally(): Tally {
  return { replies: {}, violations: [], wedged: 0, initialized: { session: 0, node: 0 } };
}

function count(t: Tally, key: string, n = 1): void {
  t.replies[key] = (t.replies[key] ?? 0) + n;
}

const PROBE_TIMEOUT_MS = 20_000;
const RAW_TIMEOUT_MS = 1000;

/** Opens the socket, sends every frame, then a probe that always gets an answer, and closes. */
export async function runWsCase(port: number, c: WsCase, t: Tally): Promise<void> {
  const url = `ws://127.0.0.1:${port}/ws/${c.surface}${c.query ? `?${c.query}` : ''}`;
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  } catch {
    count(t, 'client:bad-url'); // the ws client refused the URL itself: nothing was sent
    return;
  }
  let probeAnswered = false;
  let closed = false;
  const parse = c.surface === 'session' ? parseServerToClientFrame : parseServerToNodeFrame;
  ws.on('message', (data, isBinary) => {
    // Binary frames (v1.12/v1.13, where the fuzzed peer opted in) are checked as the text they stand for.
    const text = isBinary ? binaryAsText(data as Buffer) : data.toString();
    const parsed = parse(text);
    if (!parsed.ok) {
      t.violations.push(`${c.surface}: ${parsed.message} in ${text.slice(0, 160)}`);
      return;
    }
    const f = parsed.msg as { type: string; code?: string; message?: string };
    count(t, f.type === 'error' ? `error:${f.code}` : `frame:${f.type}`);
    if (f.type === 'server_heartbeat' && c.surface === 'session') probeAnswered = true;
    if (f.type === 'session_init_ack') t.initialized.session++;
    if (f.type === 'node_register_ack') t.initialized.node++;
    // The node probe is an unknown type: its BAD_MESSAGE names it.
    if (f.type === 'error' && typeof f.message === 'string' && f.message.includes('fuzz_probe'))
      probeAnswered = true;
  });
  const done = new Promise<void>((resolve) => {
    ws.on('close', (code) => {
      closed = true;
      count(t, `close:${code}`);
      resolve();
    });
    ws.on('error', () => {
      // close follows (or the handshake failed: counted below)
    });
  });
  const opened = await new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('unexpected-response', (_req, res) => {
      count(t, `upgrade:${res.statusCode}`);
      resolve(false);
    });
    ws.once('error', () => resolve(false));
  });
  if (!opened) {
    ws.terminate();
    return;
  }
  for (const f of c.frames) {
    if (ws.readyState !== WebSocket.OPEN) break;
    if (f.binary) ws.send(f.bytes, { binary: true });
    else ws.send(f.text, { binary: false });
  }
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(
      c.surface === 'session' ? JSON.stringify({ type: 'client_heartbeat', ts: 1 }) : '{"type":"fuzz_probe"}',
    );
  }
  const deadline = Date.now() + PROBE_TIMEOUT_MS;
  while (!probeAnswered && !closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  if (!probeAnswered && !closed) t.wedged++;
  ws.close(1000);
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
  if (!closed) ws.terminate();
}

/** Writes the raw request and records the status line (or how the connection ended). */
export function runRawCase(port: number, c: RawCase, t: Tally): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let recorded = false;
    const finish = (key: string) => {
      if (!recorded) count(t, key);
      recorded = true;
      sock.destroy();
      resolve();
    };
    const timer = setTimeout(() => finish(`${c.surface}:no-reply`), RAW_TIMEOUT_MS);
    sock.on('connect', () => sock.write(c.request));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (m) {
        clearTimeout(timer);
        finish(`${c.surface}:${m[1]}`);
      } else if (buf.length > 64 && !buf.startsWith('HTTP/')) {
        clearTimeout(timer);
        finish(`${c.surface}:garbage-reply`);
      }
    });
    sock.on('error', () => {
      clearTimeout(timer);
      finish(`${c.surface}:reset`);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      finish(`${c.surface}:closed`);
    });
  });
}
