/**
 * Credentials for test gateways: fresh secrets per test process, and tokens minted with them,
 * so the suite runs the secure path (docs/security.md). Tests that need an open gateway pass
 * INSECURE to startGateways.
 */
import {
  generateSecret,
  mintNodeToken,
  mintSessionToken,
  type SessionTokenClaims,
  secretKey,
} from '@lingua/gateway';

export const TEST_TENANT = 'test-tenant';

/** The three credentials startGateways gives every gateway unless told otherwise. */
export const TEST_CREDENTIALS = {
  sessionJwtSecret: generateSecret(),
  nodeJwtSecret: generateSecret(),
  adminToken: generateSecret(),
};

/** startGateways overrides for a gateway without credentials. */
export const INSECURE = {
  insecure: true,
  sessionJwtSecret: '',
  nodeJwtSecret: '',
  adminToken: '',
};

/** A session token for the test tenant (claims overridable) signed with the test secret. */
export function sessionToken(claims: Partial<SessionTokenClaims> = {}, ttlSeconds = 3600): Promise<string> {
  return mintSessionToken(
    secretKey(TEST_CREDENTIALS.sessionJwtSecret),
    { tenant: TEST_TENANT, ...claims },
    { ttlSeconds },
  );
}

/** A node token for an exact id or a `prefix*`. */
export function nodeToken(nodeId: string, ttlSeconds = 3600): Promise<string> {
  return mintNodeToken(secretKey(TEST_CREDENTIALS.nodeJwtSecret), { nodeId }, { ttlSeconds });
}

export function adminHeaders(token = TEST_CREDENTIALS.adminToken): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The same credentials as environment variables, for gateway processes (never argv). */
export const TEST_GATEWAY_ENV: Record<string, string> = {
  LINGUA_SESSION_JWT_SECRET: TEST_CREDENTIALS.sessionJwtSecret,
  LINGUA_NODE_JWT_SECRET: TEST_CREDENTIALS.nodeJwtSecret,
  LINGUA_ADMIN_TOKEN: TEST_CREDENTIALS.adminToken,
  LINGUA_INSECURE: 'false',
};
