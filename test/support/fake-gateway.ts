/**
 * A minimal peer that plays the gateway's side of docs/protocol.md over a real WebSocket server,
 * so the SDK is tested against real sockets. Tests drive it frame by frame.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: frames are plain JSON checked by the assertions
export type Frame = Record<string, any>;

export interface Peer {
  ws: WebSocket;
  /** Request path and query of the upgrade. */
  path: string;
  /** Request headers of the upgrade. */
  headers: Record<string, string | string[] | undefined>;
  /** Every frame received, parsed, in order. */
  frames: Frame[];
  send(frame: Frame): void;
  /** Resolves with the first received frame (from the start of history) matching. */
  waitFor(type: string, match?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  ofType(type: string): Frame[];
  closed: Promise<{ code: number; reason: string }>;
}

export interface FakeGateway {
  port: number;
  url(path: string): string;
  peers: Peer[];
  /** The i-th connection (0-based), waiting for it to arrive. */
  peer(i: number, timeoutMs?: number): Promise<Peer>;
  close(): Promise<void>;
}

export async function startFakeGateway(): Promise<FakeGateway> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  const peers: Peer[] = [];
  wss.on('connection', (ws, req) => {
    const frames: Frame[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    const ofType = (type: string) => frames.filter((f) => f.type === type);
    peers.push({
      ws,
      path: req.url ?? '',
      headers: req.headers,
      frames,
      closed,
      ofType,
      send: (frame) => ws.send(JSON.stringify(frame)),
      waitFor: (type, match = () => true, timeoutMs) =>
        waitUntil(() => frames.find((f) => f.type === type && match(f)), `frame ${type}`, timeoutMs),
    });
  });
  return {
    port,
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    peers,
    peer: (i, timeoutMs) => waitUntil(() => peers[i], `connection #${i}`, timeoutMs),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Polls `probe` until it returns a value other than undefined/false; rejects after timeoutMs. */
export async function waitUntil<T>(
  probe: () => T | undefined | false,
  what = 'condition',
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A promise with its resolve exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
