import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_COOKIE_TTL_MS,
  AdminAuth,
  Authenticator,
  algFor,
  authorizeUpgrade,
  CLOCK_TOLERANCE_S,
  generateSecret,
  MAX_TOKEN_BYTES,
  mintNodeToken,
  mintSessionToken,
  nodeIdAllowed,
  pairAllowed,
  publicKey,
  type RoleKey,
  safeEqual,
  secretKey,
} from '../src/auth';
import { ConfigError, loadConfig } from '../src/config';

const NOW = 1_800_000_000_000;
const sessionSecret = generateSecret();
const nodeSecret = generateSecret();

function auth(overrides: Partial<ConstructorParameters<typeof Authenticator>[0]> = {}, now = NOW) {
  return new Authenticator({
    session: secretKey(sessionSecret),
    node: secretKey(nodeSecret),
    adminToken: 'admin-token-0123456789',
    now: () => now,
    ...overrides,
  });
}

const session = (
  claims: { tenant: string; langs?: string[]; maxSessions?: number },
  ttl = 60,
  key = sessionSecret,
) => mintSessionToken(secretKey(key), claims, { ttlSeconds: ttl, now: NOW });
const node = (nodeId: string, ttl = 60, key = nodeSecret) =>
  mintNodeToken(secretKey(key), { nodeId }, { ttlSeconds: ttl, now: NOW });

/** A hand-made JWT (for forms the minting code refuses to make). */
function rawJwt(header: object, payload: object, signature = ''): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

describe('session and node tokens', () => {
  it('a session token yields its claims; a node token yields its node_id pattern', async () => {
    const a = auth();
    const s = await a.verifySession(await session({ tenant: 'acme', langs: ['zh:en'], maxSessions: 5 }));
    expect(s).toEqual({
      ok: true,
      claims: { tenant: 'acme', langs: ['zh:en'], maxSessions: 5, exp: NOW / 1000 + 60 },
    });
    expect(await a.verifyNode(await node('gpu-*'))).toEqual({
      ok: true,
      claims: { nodeId: 'gpu-*', exp: NOW / 1000 + 60 },
    });
  });

  it('roles cannot be swapped, even when both roles share one secret (audiences differ)', async () => {
    const shared = auth({ session: secretKey(sessionSecret), node: secretKey(sessionSecret) });
    const nodeTok = await node('n1', 60, sessionSecret);
    const sessTok = await session({ tenant: 'acme' });
    expect(await shared.verifySession(nodeTok)).toMatchObject({ ok: false, reason: 'wrong_role' });
    expect(await shared.verifyNode(sessTok)).toMatchObject({ ok: false, reason: 'wrong_role' });
    // With separate secrets (the normal case) the refusal still names the role.
    expect(await auth().verifyNode(sessTok)).toMatchObject({ ok: false, reason: 'wrong_role' });
    expect(await auth().verifySession(await node('n1'))).toMatchObject({ ok: false, reason: 'wrong_role' });
  });

  it('exp is required and checked with a small clock tolerance', async () => {
    const tok = await session({ tenant: 'acme' }, 60);
    const within = (NOW / 1000 + 60 + CLOCK_TOLERANCE_S - 1) * 1000;
    const past = (NOW / 1000 + 60 + CLOCK_TOLERANCE_S + 1) * 1000;
    expect((await auth({}, within).verifySession(tok)).ok).toBe(true);
    expect(await auth({}, past).verifySession(tok)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('refuses a missing, oversized, unsigned, forged or malformed token', async () => {
    const a = auth();
    expect(await a.verifySession(undefined)).toMatchObject({ ok: false, reason: 'missing' });
    expect(await a.verifySession('x'.repeat(MAX_TOKEN_BYTES + 1))).toMatchObject({ reason: 'too_large' });
    const none = rawJwt({ alg: 'none' }, { tenant: 'acme', aud: 'lingua:session', exp: NOW / 1000 + 60 });
    expect(await a.verifySession(none)).toMatchObject({ ok: false, reason: 'bad_algorithm' });
    const forged = await session({ tenant: 'acme' }, 60, generateSecret());
    expect(await a.verifySession(forged)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(await a.verifySession('not.a.jwt')).toMatchObject({ ok: false, reason: 'malformed' });
    const noExp = await mintSessionToken(
      secretKey(sessionSecret),
      { tenant: 'acme' },
      { ttlSeconds: 60 },
    ).then((t) => {
      const [h, , sig] = t.split('.');
      const p = Buffer.from(JSON.stringify({ tenant: 'acme', aud: 'lingua:session' })).toString('base64url');
      return `${h}.${p}.${sig}`;
    });
    expect((await a.verifySession(noExp)).ok).toBe(false);
  });

  it('refuses claims outside their bounds with a message naming the claim', async () => {
    const a = auth();
    const key = secretKey(sessionSecret);
    // Minting validates too, so these are signed by hand through a lenient path: sign with jose directly.
    const { SignJWT } = await import('jose');
    const signed = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setAudience('lingua:session')
        .setExpirationTime(NOW / 1000 + 60)
        .sign(key.key as Uint8Array);
    for (const [claims, name] of [
      [{ tenant: 'a{b}' }, 'tenant'],
      [{}, 'tenant'],
      [{ tenant: 'acme', langs: 'zh:en' }, 'langs'],
      [{ tenant: 'acme', langs: ['zh-en'] }, 'langs'],
      [{ tenant: 'acme', max_sessions: 0 }, 'max_sessions'],
    ] as const) {
      const v = await a.verifySession(await signed(claims));
      expect(v, JSON.stringify(claims)).toMatchObject({ ok: false, reason: 'bad_claims' });
      expect(!v.ok && v.message).toContain(name);
    }
    await expect(session({ tenant: 'a b' })).rejects.toThrow(/tenant/);
    await expect(node('a/b')).rejects.toThrow(/node_id/);
  });

  it('public keys: RS256, ES256 and EdDSA tokens verify; the algorithm follows the key, never the token', async () => {
    const pairs: Array<[string, { publicKey: KeyObject; privateKey: KeyObject }]> = [
      ['rsa', generateKeyPairSync('rsa', { modulusLength: 2048 })],
      ['ec', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
      ['ed25519', generateKeyPairSync('ed25519')],
    ];
    for (const [type, kp] of pairs) {
      const pem = kp.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const verifier = publicKey(pem.replace(/\n/g, '\\n')); // one-line env form
      const signer: RoleKey = { alg: algFor(kp.privateKey), key: kp.privateKey };
      expect(verifier.alg).toBe(signer.alg);
      const a = auth({ session: verifier });
      const tok = await mintSessionToken(signer, { tenant: 'acme' }, { ttlSeconds: 60, now: NOW });
      expect((await a.verifySession(tok)).ok, type).toBe(true);
      // Algorithm confusion: an HS256 token keyed with the public key's PEM is refused.
      const confused = await mintSessionToken(
        secretKey(pem),
        { tenant: 'acme' },
        { ttlSeconds: 60, now: NOW },
      );
      expect(await a.verifySession(confused), type).toMatchObject({ ok: false, reason: 'bad_algorithm' });
    }
    expect(() =>
      publicKey(
        generateKeyPairSync('rsa', { modulusLength: 1024 })
          .publicKey.export({ type: 'spki', format: 'pem' })
          .toString(),
      ),
    ).toThrow(/2048/);
    expect(() =>
      publicKey(
        generateKeyPairSync('ec', { namedCurve: 'P-384' })
          .publicKey.export({ type: 'spki', format: 'pem' })
          .toString(),
      ),
    ).toThrow(/P-256/);
    expect(() => publicKey('not a key')).toThrow(/PEM/);
  });

  it('a node may register only ids its token allows', async () => {
    const a = auth();
    expect((await a.authorizeNode('gpu-1', await node('gpu-1'), undefined)).ok).toBe(true);
    expect((await a.authorizeNode('gpu-7', await node('gpu-*'), undefined)).ok).toBe(true);
    expect(await a.authorizeNode('gpu-2', await node('gpu-1'), undefined)).toMatchObject({
      reason: 'not_allowed',
    });
    expect(await a.authorizeNode('cpu-1', await node('gpu-*'), undefined)).toMatchObject({
      reason: 'not_allowed',
    });
    // The frame's token wins; the upgrade's bearer token is the fallback.
    expect((await a.authorizeNode('gpu-1', undefined, await node('gpu-1'))).ok).toBe(true);
    expect(await a.authorizeNode('gpu-1', undefined, undefined)).toMatchObject({ reason: 'missing' });
    expect(nodeIdAllowed('*', 'anything')).toBe(true);
    expect(nodeIdAllowed('gpu-1', 'gpu-10')).toBe(false);
  });

  it('langs: exact pairs and * per side', () => {
    expect(pairAllowed({}, 'zh', 'en')).toBe(true);
    expect(pairAllowed({ langs: ['zh:en'] }, 'zh', 'en')).toBe(true);
    expect(pairAllowed({ langs: ['zh:en'] }, 'en', 'zh')).toBe(false);
    expect(pairAllowed({ langs: ['zh:*'] }, 'zh', 'ja')).toBe(true);
    expect(pairAllowed({ langs: ['*:en'] }, 'ja', 'en')).toBe(true);
    expect(pairAllowed({ langs: [] }, 'zh', 'en')).toBe(false);
  });

  it('a role without a key is open; upgrade checks never throw', async () => {
    const open = new Authenticator({ session: null, node: null, adminToken: '' });
    expect(await open.verifySession(undefined)).toEqual({ ok: true, claims: null });
    expect(await authorizeUpgrade(open, 'session', undefined)).toEqual({ session: {} });
    expect(open.admin).toBeNull();
    const a = auth();
    expect(await authorizeUpgrade(a, 'session', await session({ tenant: 'acme' }))).toEqual({
      session: { tenant: 'acme', langs: undefined, maxSessions: undefined },
    });
    expect((await authorizeUpgrade(a, 'node', await session({ tenant: 'acme' }))).refused?.reason).toBe(
      'wrong_role',
    );
    expect(await authorizeUpgrade(a, 'node', undefined)).toEqual({});
  });
});

describe('admin token and dashboard cookie', () => {
  it('compares in constant time, and the cookie is signed, expiring and bound to the token', () => {
    let now = NOW;
    const admin = new AdminAuth('admin-token-0123456789', () => now);
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
    expect(admin.allows('Bearer admin-token-0123456789', '')).toBe(true);
    expect(admin.allows('Bearer admin-token-012345678', '')).toBe(false);
    expect(admin.allows('', '')).toBe(false);
    const cookie = admin.mintCookie();
    expect(cookie).not.toContain('admin-token');
    expect(admin.allows('', `x=1; lingua_admin=${cookie}`)).toBe(true);
    const tampered = cookie.replace(/\.(\d+)\./, (_m, exp) => `.${Number(exp) + 1000}.`);
    expect(admin.allows('', `lingua_admin=${tampered}`)).toBe(false);
    expect(new AdminAuth('another-admin-token-0000', () => now).checkCookie(cookie)).toBe(false);
    now += ADMIN_COOKIE_TTL_MS + 1;
    expect(admin.checkCookie(cookie)).toBe(false);
  });
});

describe('gateway config: credentials', () => {
  const base = { LINGUA_INSTANCE_ID: 'gw-t' };
  const creds = {
    LINGUA_SESSION_JWT_SECRET: generateSecret(),
    LINGUA_NODE_JWT_SECRET: generateSecret(),
    LINGUA_ADMIN_TOKEN: generateSecret(),
  };
  const problems = (env: Record<string, string>): string => {
    try {
      loadConfig({ ...base, ...env });
      return '';
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };

  it('refuses to start without credentials unless LINGUA_INSECURE=true, naming the variables', () => {
    const msg = problems({});
    for (const name of [
      'LINGUA_SESSION_JWT_SECRET',
      'LINGUA_NODE_JWT_SECRET',
      'LINGUA_ADMIN_TOKEN',
      'LINGUA_INSECURE',
    ]) {
      expect(msg).toContain(name);
    }
    expect(problems({ LINGUA_SESSION_JWT_SECRET: creds.LINGUA_SESSION_JWT_SECRET })).toContain(
      'LINGUA_NODE_JWT_SECRET',
    );
    expect(problems({ LINGUA_INSECURE: 'true' })).toBe('');
    expect(problems(creds)).toBe('');
  });

  it('refuses weak, ambiguous or removed settings', () => {
    expect(problems({ ...creds, LINGUA_SESSION_JWT_SECRET: 'short' })).toMatch(/at least 32/);
    expect(problems({ ...creds, LINGUA_ADMIN_TOKEN: 'short' })).toMatch(/at least 16/);
    expect(problems({ ...creds, LINGUA_NODE_JWT_PUBLIC_KEY: 'x' })).toMatch(/both set/);
    expect(problems({ ...creds, LINGUA_AUTH_TOKEN: 'old' })).toMatch(/LINGUA_AUTH_TOKEN was removed/);
    const { LINGUA_SESSION_JWT_SECRET: _, ...rest } = creds;
    expect(problems({ ...rest, LINGUA_SESSION_JWT_PUBLIC_KEY: 'garbage' })).toMatch(
      /LINGUA_SESSION_JWT_PUBLIC_KEY: not a PEM/,
    );
  });
});
