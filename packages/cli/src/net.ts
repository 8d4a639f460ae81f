/** Small network helpers: free ports, port checks, a raw Redis PING, JSON over HTTP. */
import net from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * True when nothing listens on host:port. A plain listen (no SO_REUSEPORT) fails even when
 * the holder uses SO_REUSEPORT, so this also catches gateways of another local cluster.
 */
export function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** One PING over a fresh TCP connection (no client library needed to wait for redis-server). */
export function redisPing(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export async function getJson<T>(url: string, token?: string, timeoutMs = 3000): Promise<T> {
  const res = await fetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status === 401)
    throw new HttpError(401, `${url}: 401 unauthorized (pass --token or LINGUA_ADMIN_TOKEN)`);
  if (!res.ok) throw new HttpError(res.status, `${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
