/**
 * A node process's health endpoint for container orchestrators (compose health checks,
 * Kubernetes probes): `GET /health` answers 200 while the node is registered with a gateway,
 * 503 otherwise, with the state as JSON. Nothing else is served; requests are tiny and bounded.
 */
import { createServer, type Server } from 'node:http';
import type { NodeState } from './node';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export function startHealthServer(
  port: number,
  host: string,
  state: () => NodeState,
  nodeId: string,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/health') {
      res.writeHead(404).end();
      return;
    }
    const s = state();
    res
      .writeHead(s === 'registered' ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ node_id: nodeId, state: s }));
  });
  // A probe that dawdles must not hold a socket: small bounds on headers and requests.
  server.headersTimeout = 5000;
  server.requestTimeout = 5000;
  server.maxHeadersCount = 32;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
