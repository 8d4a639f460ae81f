/**
 * HTTP routes on the gateway's port: liveness, readiness, metrics, the cluster API and the
 * dashboard. uWebSockets.js rule: headers are read before the handler returns, and an async
 * answer checks `onAborted` and corks its writes.
 */
import type { AdminAuth } from './auth';
import type { HttpRequest, HttpResponse, TemplatedApp } from './uws';

export interface HttpReply {
  status?: number;
  body: string;
  type?: string;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  303: '303 See Other',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  404: '404 Not Found',
  413: '413 Payload Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export function json(body: unknown, status = 200): HttpReply {
  return { status, body: JSON.stringify(body), type: 'application/json' };
}

export function unauthorized(): HttpReply {
  return json(
    { error: { code: 'UNAUTHORIZED', message: 'Authorization: Bearer <admin token> required' } },
    401,
  );
}

/** Registers an async GET route; `admin` makes it require the admin token (bearer or dashboard cookie). */
export function getRoute(
  app: TemplatedApp,
  path: string,
  handler: (params: string[], query: string) => Promise<HttpReply> | HttpReply,
  admin?: AdminAuth,
): void {
  app.get(path, (res: HttpResponse, req: HttpRequest) => {
    const params: string[] = [];
    for (let i = 0; req.getParameter(i) !== undefined && i < 8; i++) params.push(req.getParameter(i) ?? '');
    const query = req.getQuery() ?? '';
    const allowed = !admin || admin.allows(req.getHeader('authorization'), req.getHeader('cookie'));
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const send = (r: HttpReply) => {
      if (aborted) return;
      res.cork(() => {
        res
          .writeStatus(STATUS_TEXT[r.status ?? 200] ?? `${r.status}`)
          .writeHeader('content-type', r.type ?? 'text/plain; charset=utf-8')
          .writeHeader('cache-control', 'no-store')
          .end(r.body);
      });
    };
    if (!allowed) {
      send(unauthorized());
      return;
    }
    Promise.resolve()
      .then(() => handler(params, query))
      .then(send, (err) =>
        send(json({ error: { code: 'INTERNAL', message: String(err?.message ?? err) } }, 500)),
      );
  });
}
