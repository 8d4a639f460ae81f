/** Small pieces both transports share: status lines, route patterns, safe query decoding. */
import type { HttpHandler, HttpRequestInfo, HttpResult } from './types';

/** The bodies of the two answers a transport gives by itself. */
export const INTERNAL_ERROR_BODY = '{"error":{"code":"INTERNAL","message":"internal error"}}';
export const BODY_TOO_LARGE_BODY = '{"error":{"code":"PAYLOAD_TOO_LARGE","message":"body too large"}}';

/**
 * Runs `handler` once the request is complete: at once for GET/HEAD, after `readBody` (bounded
 * by the transport) otherwise. Its result goes to `answer`; a throw or rejection to `fail`.
 */
export function runHandler(
  info: HttpRequestInfo,
  handler: HttpHandler,
  readBody: (done: (body: Buffer) => void) => void,
  answer: (result: HttpResult) => void,
  fail: (err: unknown) => void,
): void {
  const run = () => {
    Promise.resolve()
      .then(() => handler(info))
      .then(answer)
      .catch(fail);
  };
  if (info.method === 'GET' || info.method === 'HEAD') {
    run();
    return;
  }
  readBody((body) => {
    info.body = body;
    run();
  });
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  302: 'Found',
  303: 'See Other',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Status'}`;
}

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Status';
}

/**
 * A uWS-style route pattern: literal segments, `:name` segments (one segment each, values
 * returned in order) and a trailing `*` (the rest). Returns null when `path` does not match.
 */
export function matchRoute(pattern: string, path: string): string[] | null {
  const p = pattern.split('/');
  const s = path.split('/');
  const params: string[] = [];
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg === '*' && i === p.length - 1) return params;
    if (i >= s.length) return null;
    if (seg.startsWith(':')) params.push(s[i]!);
    else if (seg !== s[i]) return null;
  }
  return p.length === s.length ? params : null;
}

/** decodeURIComponent that returns undefined instead of throwing on a malformed escape. */
export function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * The value of `name` in a raw query string; '' when absent, undefined when its escapes are
 * malformed (callers refuse such a request instead of guessing).
 */
export function queryParam(query: string, name: string): string | undefined {
  for (const part of query.split('&', 64)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === name) return safeDecode(eq < 0 ? '' : part.slice(eq + 1));
  }
  return '';
}

/** A bearer token from `?token=` or `Authorization: Bearer`; undefined when none or malformed. */
export function bearerToken(query: string, authorization: string): string | undefined {
  const q = queryParam(query, 'token');
  if (q) return q;
  if (authorization.startsWith('Bearer ')) return authorization.slice(7);
  return undefined;
}
