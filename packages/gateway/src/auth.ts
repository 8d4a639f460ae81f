/**
 * Credentials per role (docs/security.md). Pure: a token goes in, claims or a typed refusal
 * come out; no sockets, no Redis, time from an injected clock.
 *
 * - Session tokens (JWT, `aud` = "lingua:session"): `tenant` and `exp` required, optional
 *   `langs` (allowed "src:tgt" pairs, `*` for any side) and `max_sessions`.
 * - Node tokens (JWT, `aud` = "lingua:node"): `node_id` (an exact id, or a prefix ending in
 *   `*`) and `exp`.
 * Different audiences *and* different required claims keep the roles apart even when an
 * operator signs both with the same key. HS256 with a shared secret, or RS256 / ES256 / EdDSA
 * with a public key; the algorithm is pinned per role (never taken from the token header).
 * - The admin token: a shared secret compared in constant time; the dashboard trades it for
 *   an HMAC-signed, expiring HttpOnly cookie so it never travels in a URL.
 */
import { createHmac, createPublicKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeJwt, errors, jwtVerify, SignJWT } from 'jose';

export const SESSION_AUDIENCE = 'lingua:session';
export const NODE_AUDIENCE = 'lingua:node';
/** Larger tokens are refused before any parsing (the protocol bounds node_register.token to this). */
export const MAX_TOKEN_BYTES = 4096;
/** Seconds of clock skew tolerated on exp/nbf/iat. */
export const CLOCK_TOLERANCE_S = 5;
export const MIN_SECRET_LENGTH = 32;
export const MIN_ADMIN_TOKEN_LENGTH = 16;
export const ADMIN_COOKIE = 'lingua_admin';
export const ADMIN_COOKIE_TTL_MS = 12 * 3600_000;
const MAX_LANG_PAIRS = 256;
const MAX_SESSIONS_CLAIM = 1_000_000;

/** Same alphabet as the protocol's ids (they end up inside Redis keys). */
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const NODE_PATTERN_RE = /^[A-Za-z0-9._:-]{0,128}\*?$/;
const LANG_PAIR_RE = /^(\*|[A-Za-z0-9_-]{2,16}):(\*|[A-Za-z0-9_-]{2,16})$/;

export type Alg = 'HS256' | 'RS256' | 'ES256' | 'EdDSA';

/** How one role's tokens are verified (or signed, for a secret or a private key). */
export interface RoleKey {
  alg: Alg;
  key: KeyObject | Uint8Array;
}

export interface SessionClaims {
  tenant: string;
  /** allowed "src:tgt" pairs (`*` = any language on that side); absent = every pair */
  langs?: string[];
  /** concurrent sessions the tenant may hold (enforced by the quota code, not here) */
  maxSessions?: number;
  exp: number;
}

export interface NodeClaims {
  /** an exact node id, or a prefix ending in `*` */
  nodeId: string;
  exp: number;
}

export type RefusalReason =
  | 'missing'
  | 'too_large'
  | 'malformed'
  | 'bad_algorithm'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_role'
  | 'bad_claims'
  | 'not_allowed';

/** Why a credential was refused; `message` is safe to send to the peer (no secret in it). */
export interface Refusal {
  ok: false;
  reason: RefusalReason;
  message: string;
}

export type Verified<T> = { ok: true; claims: T } | Refusal;

export function refusal(reason: RefusalReason, message: string): Refusal {
  return { ok: false, reason, message };
}

/** What the session actor gets from its connection's credential (all absent when auth is off). */
export interface SessionAuthContext {
  tenant?: string;
  langs?: string[];
  maxSessions?: number;
}

// ---- keys ----

/** An HS256 key from a shared secret. */
export function secretKey(secret: string): RoleKey {
  return { alg: 'HS256', key: new TextEncoder().encode(secret) };
}

/**
 * A verification key from a PEM public key (SPKI). The algorithm follows from the key type:
 * RSA (≥ 2048 bits) → RS256, EC P-256 → ES256, Ed25519 → EdDSA. `\n` escapes are accepted
 * (PEM in a one-line environment variable). Throws a message without key material.
 */
export function publicKey(pem: string): RoleKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem.replace(/\\n/g, '\n'));
  } catch {
    throw new Error('not a PEM public key (expected -----BEGIN PUBLIC KEY-----)');
  }
  return { alg: algFor(key), key };
}

/** The algorithm a private or public key signs/verifies with (same rules as publicKey). */
export function algFor(key: KeyObject): Alg {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa') {
    if ((details.modulusLength ?? 0) < 2048) throw new Error('RSA keys must have at least 2048 bits');
    return 'RS256';
  }
  if (type === 'ec') {
    if (details.namedCurve !== 'prime256v1') throw new Error('EC keys must be P-256 (ES256)');
    return 'ES256';
  }
  if (type === 'ed25519') return 'EdDSA';
  throw new Error(`unsupported key type ${type ?? 'unknown'} (use RSA, EC P-256 or Ed25519)`);
}

/**
 * One role's key from its two environment values (secret xor public key). Throws with the
 * variable's name; returns null when neither is set.
 */
export function roleKeyFromEnv(role: 'SESSION' | 'NODE', secret: string, pem: string): RoleKey | null {
  const s = `LINGUA_${role}_JWT_SECRET`;
  const p = `LINGUA_${role}_JWT_PUBLIC_KEY`;
  if (secret && pem) throw new Error(`${s} and ${p} are both set: use one`);
  if (secret) {
    if (secret.length < MIN_SECRET_LENGTH)
      throw new Error(`${s} must be at least ${MIN_SECRET_LENGTH} characters (e.g. 32 random bytes, base64)`);
    return secretKey(secret);
  }
  if (pem) {
    try {
      return publicKey(pem);
    } catch (err) {
      throw new Error(`${p}: ${(err as Error).message}`);
    }
  }
  return null;
}

/** 32 random bytes, base64url: a secret for HS256 or an admin token. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

// ---- claims ----

function sessionClaims(p: Record<string, unknown>): Verified<SessionClaims> {
  if (typeof p.tenant !== 'string' || !ID_RE.test(p.tenant)) {
    return refusal('bad_claims', 'session token: claim "tenant" must be 1-128 chars of [A-Za-z0-9._:-]');
  }
  const out: SessionClaims = { tenant: p.tenant, exp: Number(p.exp) };
  if (p.langs !== undefined) {
    if (
      !Array.isArray(p.langs) ||
      p.langs.length > MAX_LANG_PAIRS ||
      !p.langs.every((l) => typeof l === 'string' && LANG_PAIR_RE.test(l))
    ) {
      return refusal(
        'bad_claims',
        `session token: claim "langs" must be an array of at most ${MAX_LANG_PAIRS} "src:tgt" pairs`,
      );
    }
    out.langs = p.langs as string[];
  }
  if (p.max_sessions !== undefined) {
    const n = p.max_sessions;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_SESSIONS_CLAIM) {
      return refusal(
        'bad_claims',
        `session token: claim "max_sessions" must be an integer 1..${MAX_SESSIONS_CLAIM}`,
      );
    }
    out.maxSessions = n;
  }
  return { ok: true, claims: out };
}

function nodeClaims(p: Record<string, unknown>): Verified<NodeClaims> {
  const id = p.node_id;
  if (typeof id !== 'string' || id === '' || !NODE_PATTERN_RE.test(id)) {
    return refusal(
      'bad_claims',
      'node token: claim "node_id" must be a node id or a prefix ending in "*" (chars [A-Za-z0-9._:-])',
    );
  }
  return { ok: true, claims: { nodeId: id, exp: Number(p.exp) } };
}

/** May a session with these claims translate src → tgt? */
export function pairAllowed(claims: { langs?: readonly string[] }, src: string, tgt: string): boolean {
  if (!claims.langs) return true;
  return claims.langs.some((pair) => {
    const [s, t] = pair.split(':') as [string, string];
    return (s === '*' || s === src) && (t === '*' || t === tgt);
  });
}

/** May a node token with this claim register `nodeId`? Exact match, or prefix when it ends in `*`. */
export function nodeIdAllowed(pattern: string, nodeId: string): boolean {
  return pattern.endsWith('*') ? nodeId.startsWith(pattern.slice(0, -1)) : nodeId === pattern;
}

// ---- verification ----

const ROLE = {
  session: { audience: SESSION_AUDIENCE, other: NODE_AUDIENCE, label: 'session', otherLabel: 'node' },
  node: { audience: NODE_AUDIENCE, other: SESSION_AUDIENCE, label: 'node', otherLabel: 'session' },
} as const;

async function verifyJwt(
  role: 'session' | 'node',
  token: string | undefined,
  key: RoleKey,
  now: number,
): Promise<Verified<Record<string, unknown>>> {
  const r = ROLE[role];
  if (!token) return refusal('missing', `a ${r.label} token is required`);
  if (token.length > MAX_TOKEN_BYTES)
    return refusal('too_large', `token longer than ${MAX_TOKEN_BYTES} bytes`);
  try {
    const { payload } = await jwtVerify(token, key.key, {
      algorithms: [key.alg],
      audience: r.audience,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp'],
      currentDate: new Date(now),
    });
    return { ok: true, claims: payload as Record<string, unknown> };
  } catch (err) {
    // A token of the other role fails here (other key, or other audience): say so plainly.
    if (audienceOf(token) === r.other) {
      return refusal('wrong_role', `this is a ${r.otherLabel} token; a ${r.label} token is required here`);
    }
    return refusal(...classify(err, r.label));
  }
}

function audienceOf(token: string): string | undefined {
  try {
    const aud = decodeJwt(token).aud;
    return Array.isArray(aud) ? aud[0] : aud;
  } catch {
    return undefined;
  }
}

function classify(err: unknown, label: string): [RefusalReason, string] {
  if (err instanceof errors.JWTExpired) return ['expired', `${label} token expired`];
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return ['wrong_role', `not a ${label} token (aud must be lingua:${label})`];
    if (err.claim === 'nbf' || err.claim === 'iat') return ['not_yet_valid', `${label} token not valid yet`];
    return ['bad_claims', `${label} token: claim "${err.claim}" ${err.reason}`];
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return ['bad_algorithm', `${label} token: algorithm not accepted`];
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return ['bad_signature', `${label} token: invalid signature`];
  }
  return ['malformed', `${label} token: not a valid JWT`];
}

export interface AuthSettings {
  session: RoleKey | null;
  node: RoleKey | null;
  /** '' = the admin surface is open (insecure mode only) */
  adminToken: string;
  now?: () => number;
}

/**
 * One gateway's credentials. A role without a key is open (only allowed with LINGUA_INSECURE,
 * checked by the config): its verify returns ok with `claims: null`.
 */
export class Authenticator {
  readonly admin: AdminAuth | null;
  private readonly now: () => number;

  constructor(private readonly settings: AuthSettings) {
    this.now = settings.now ?? Date.now;
    this.admin = settings.adminToken ? new AdminAuth(settings.adminToken, this.now) : null;
  }

  get sessionRequired(): boolean {
    return this.settings.session !== null;
  }

  get nodeRequired(): boolean {
    return this.settings.node !== null;
  }

  async verifySession(token: string | undefined): Promise<Verified<SessionClaims | null>> {
    const key = this.settings.session;
    if (!key) return { ok: true, claims: null };
    const v = await verifyJwt('session', token, key, this.now());
    return v.ok ? sessionClaims(v.claims) : v;
  }

  async verifyNode(token: string | undefined): Promise<Verified<NodeClaims | null>> {
    const key = this.settings.node;
    if (!key) return { ok: true, claims: null };
    const v = await verifyJwt('node', token, key, this.now());
    return v.ok ? nodeClaims(v.claims) : v;
  }

  /**
   * The node_register check: the token in the frame (else the one presented at upgrade) must
   * allow exactly this node id. A connected node's id cannot be taken over without a token
   * for that id.
   */
  async authorizeNode(
    nodeId: string,
    frameToken: string | undefined,
    upgradeToken: string | undefined,
  ): Promise<Verified<NodeClaims | null>> {
    const v = await this.verifyNode(frameToken ?? upgradeToken);
    if (!v.ok || v.claims === null) return v;
    if (!nodeIdAllowed(v.claims.nodeId, nodeId)) {
      return refusal('not_allowed', `node token does not allow node_id "${nodeId}"`);
    }
    return v;
  }
}

/** The Authenticator for a gateway's validated config (config.ts has already checked the keys). */
export function authenticatorFor(
  cfg: {
    sessionJwtSecret: string;
    sessionJwtPublicKey: string;
    nodeJwtSecret: string;
    nodeJwtPublicKey: string;
    adminToken: string;
  },
  now?: () => number,
): Authenticator {
  return new Authenticator({
    session: roleKeyFromEnv('SESSION', cfg.sessionJwtSecret, cfg.sessionJwtPublicKey),
    node: roleKeyFromEnv('NODE', cfg.nodeJwtSecret, cfg.nodeJwtPublicKey),
    adminToken: cfg.adminToken,
    now,
  });
}

/** What an upgrade request's credential allows; checked before the socket opens. */
export interface UpgradeAuth {
  /** set when the credential was refused: the socket gets UNAUTHORIZED and close 1008 */
  refused?: Refusal;
  /** /ws/session: the claims the session runs under ({} with auth off) */
  session?: SessionAuthContext;
  /** /ws/node: a valid node token presented as bearer, used when node_register has none */
  nodeToken?: string;
}

/**
 * The upgrade-time check. Sessions must present a valid session token (`?token=` or bearer);
 * nodes may present a node token as bearer (else in node_register). Never throws.
 */
export async function authorizeUpgrade(
  auth: Authenticator,
  kind: 'session' | 'node',
  token: string | undefined,
): Promise<UpgradeAuth> {
  try {
    if (kind === 'session') {
      const v = await auth.verifySession(token);
      if (!v.ok) return { refused: v };
      if (!v.claims) return { session: {} };
      const { tenant, langs, maxSessions } = v.claims;
      return { session: { tenant, langs, maxSessions } };
    }
    if (token === undefined) return {};
    const v = await auth.verifyNode(token);
    return v.ok ? { nodeToken: token } : { refused: v };
  } catch {
    return { refused: refusal('malformed', 'credential could not be checked') };
  }
}

/** The token of an `Authorization: Bearer` header (admin routes), or undefined. */
export function bearer(authorization: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '');
  return m ? m[1] : undefined;
}

// ---- admin ----

/** Constant-time equality of two secrets of any length (compares their HMAC digests). */
export function safeEqual(a: string, b: string): boolean {
  const key = 'lingua constant-time compare';
  const da = createHmac('sha256', key).update(a).digest();
  const db = createHmac('sha256', key).update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * The admin surface's guard: `Authorization: Bearer <LINGUA_ADMIN_TOKEN>`, or the dashboard
 * cookie minted by a login with that token. The cookie is stateless (any instance can check
 * it): `v1.<expires ms>.<nonce>.<HMAC>` keyed by a key derived from the admin token, so
 * rotating the token logs every browser out.
 */
export class AdminAuth {
  private readonly cookieKey: Buffer;

  constructor(
    private readonly token: string,
    private readonly now: () => number = Date.now,
  ) {
    this.cookieKey = createHmac('sha256', token).update('lingua dashboard cookie v1').digest();
  }

  checkToken(presented: string | undefined): boolean {
    return presented !== undefined && presented.length <= MAX_TOKEN_BYTES && safeEqual(presented, this.token);
  }

  /** Bearer header or dashboard cookie. */
  allows(authorization: string, cookieHeader: string): boolean {
    if (this.checkToken(bearer(authorization))) return true;
    const c = cookieValue(cookieHeader, ADMIN_COOKIE);
    return c !== undefined && this.checkCookie(c);
  }

  /** A fresh cookie value valid for ADMIN_COOKIE_TTL_MS. */
  mintCookie(): string {
    const exp = this.now() + ADMIN_COOKIE_TTL_MS;
    const body = `v1.${exp}.${randomBytes(12).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  checkCookie(value: string): boolean {
    if (value.length > 256) return false;
    const m = /^(v1\.(\d{1,15})\.[A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    if (Number(m[2]) <= this.now()) return false;
    const expected = Buffer.from(this.mac(m[1]!));
    const got = Buffer.from(m[3]!);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  private mac(body: string): string {
    return createHmac('sha256', this.cookieKey).update(body).digest('base64url');
  }
}

/** One cookie's value from a Cookie header (first occurrence), or undefined. */
export function cookieValue(header: string, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

// ---- minting (CLI, tests, tools; the gateway itself never mints) ----

export interface MintOptions {
  /** lifetime in seconds */
  ttlSeconds: number;
  now?: number;
}

async function sign(
  key: RoleKey,
  audience: string,
  claims: Record<string, unknown>,
  opts: MintOptions,
): Promise<string> {
  if (!(key.key instanceof Uint8Array) && key.key.type === 'public') {
    throw new Error('cannot mint with a public key: tokens are signed by your issuer (private key)');
  }
  if (!(opts.ttlSeconds > 0)) throw new Error('ttl must be positive');
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: 'JWT' })
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.ceil(opts.ttlSeconds))
    .sign(key.key);
}

export interface SessionTokenClaims {
  tenant: string;
  langs?: string[];
  maxSessions?: number;
}

/** A session token (validated with the same rules the gateway applies). */
export function mintSessionToken(key: RoleKey, c: SessionTokenClaims, opts: MintOptions): Promise<string> {
  const payload: Record<string, unknown> = { tenant: c.tenant };
  if (c.langs !== undefined) payload.langs = c.langs;
  if (c.maxSessions !== undefined) payload.max_sessions = c.maxSessions;
  const v = sessionClaims(payload);
  if (!v.ok) return Promise.reject(new Error(v.message));
  return sign(key, SESSION_AUDIENCE, payload, opts);
}

/** A node token for an exact id or a prefix ending in `*`. */
export function mintNodeToken(key: RoleKey, c: { nodeId: string }, opts: MintOptions): Promise<string> {
  const payload = { node_id: c.nodeId };
  const v = nodeClaims(payload);
  if (!v.ok) return Promise.reject(new Error(v.message));
  return sign(key, NODE_AUDIENCE, payload, opts);
}
