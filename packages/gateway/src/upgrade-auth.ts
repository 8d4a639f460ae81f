/**
 * The upgrade-time auth hook for the shared `LINGUA_AUTH_TOKEN`: a session presents it as
 * `?token=` or `Authorization: Bearer` (a malformed escape counts as no token); nodes present
 * theirs in `node_register`. A refused session is upgraded, told `UNAUTHORIZED`, and closed
 * with 1008 (what v1 clients expect).
 */
import type { Authorize } from './connections';
import { bearerToken } from './transport/http-util';

export function sharedTokenAuthorize(authToken: string): Authorize {
  return (kind, req) => {
    if (kind === 'node' || !authToken) return { ok: true };
    if (bearerToken(req.query, req.header('authorization')) === authToken) return { ok: true };
    return { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'missing or invalid token', close: 1008 };
  };
}
