/**
 * HTTP routes on the gateway's port: liveness, readiness, metrics, the cluster API and the
 * dashboard, registered on the transport seam (which reads the request up front, guards the
 * handler and answers 500 when it throws).
 */
import type { AdminAuth } from './auth';
import type { HttpTransport } from './transport/types';

export interface HttpReply {
  status?: number;
  body: string;
  type?: string;
  headers?: Record<string, string>;
}

export function json(body: unknown, status = 200): HttpReply {
  return { status, body: JSON.stringify(body), type: 'application/json' };
}

export const unauthorized = (): HttpReply =>
  json({ error: { code: 'UNAUTHORIZED', message: 'Authorization: Bearer <admin token> required' } }, 401);

/**
 * Registers an async GET route; `admin` makes it require the admin token (bearer header or the
 * dashboard's login cookie). A handler that throws is answered 500 by the seam, counted and
 * logged (not echoed to the client).
 */
export function getRoute(
  app: HttpTransport,
  path: string,
  handler: (params: string[], query: string) => Promise<HttpReply> | HttpReply,
  admin?: AdminAuth,
): void {
  app.route('GET', path, async (req) => {
    if (admin && !admin.allows(req.header('authorization'), req.header('cookie'))) return unauthorized();
    return handler(req.params, req.query);
  });
}
