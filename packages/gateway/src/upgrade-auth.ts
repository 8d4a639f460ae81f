/**
 * The upgrade-time auth hook of the transport seam, backed by the per-role credentials of
 * auth.ts: a session presents its session token as `Authorization: Bearer` or `?token=`; a
 * node may present its node token as a bearer header (else in `node_register`, checked by
 * NodeConn). A refused connection is upgraded, told `UNAUTHORIZED` with the reason, and closed
 * with 1008 (browsers cannot read the status of a failed upgrade). Accepted sessions carry the
 * token's tenant, `langs` and `maxSessions` as claims; nodes the bearer token they showed.
 */
import { type Authenticator, authorizeUpgrade } from './auth';
import type { Authorize } from './connections';
import type { Metrics } from './metrics';
import { bearerToken } from './transport/http-util';

export function credentialsAuthorize(auth: Authenticator, metrics: Metrics): Authorize {
  return async (kind, req) => {
    // A malformed escape in ?token= counts as no token (refused as missing), never an exception.
    const a = await authorizeUpgrade(auth, kind, bearerToken(req.query, req.header('authorization')));
    if (a.refused) {
      metrics.authRefused.inc({ kind, reason: a.refused.reason });
      return { ok: false, status: 401, code: 'UNAUTHORIZED', message: a.refused.message, close: 1008 };
    }
    return { ok: true, claims: kind === 'session' ? { ...a.session } : { nodeToken: a.nodeToken } };
  };
}
