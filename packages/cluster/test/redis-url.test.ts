import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isClusterUrl, parseClusterSeeds, parseSentinelUrl, redisAuthFromEnv } from '../src/redis';
import { parseClusterUrl, redactRedisUrl, redisTlsOptions } from '../src/redis-url';

describe('Redis URLs with credentials and TLS', () => {
  it('cluster URLs: seeds, percent-encoded ACL credentials, TLS by scheme', () => {
    expect(parseClusterUrl('redis+cluster://h1:7000,h2:7001')).toEqual({
      seeds: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7001 },
      ],
      tls: false,
    });
    expect(parseClusterUrl('rediss+cluster://lingua:p%40ss%3Aw@h1:7000,:7001')).toEqual({
      seeds: [
        { host: 'h1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
      username: 'lingua',
      password: 'p@ss:w',
      tls: true,
    });
    expect(isClusterUrl('rediss+cluster://h:1')).toBe(true);
    expect(isClusterUrl('rediss://h:1')).toBe(false);
    expect(parseClusterSeeds('redis+cluster://u:p@h1:7000')).toEqual([{ host: 'h1', port: 7000 }]);
  });

  it('TLS only for rediss schemes; a private CA from LINGUA_REDIS_CA_FILE, named (not shown) when unreadable', () => {
    expect(redisTlsOptions('redis://h:1', { LINGUA_REDIS_CA_FILE: '/nope' })).toEqual({});
    expect(redisTlsOptions('rediss://h:1', {})).toEqual({ tls: {} });
    expect(() => redisTlsOptions('rediss+cluster://h:1', { LINGUA_REDIS_CA_FILE: '/nope/ca.pem' })).toThrow(
      /LINGUA_REDIS_CA_FILE: cannot read \/nope\/ca.pem: ENOENT/,
    );
  });

  it('redacts the password, keeps the rest', () => {
    expect(redactRedisUrl('redis://lingua:s3cret@h:6379/0')).toBe('redis://lingua:***@h:6379/0');
    expect(redactRedisUrl('rediss+cluster://u:p@h1:1,h2:2')).toBe('rediss+cluster://u:***@h1:1,h2:2');
    expect(redactRedisUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});

describe('redis+sentinel:// URLs', () => {
  it('parses sentinels (default port 26379), the master name and an optional db', () => {
    expect(parseSentinelUrl('redis+sentinel://10.0.0.1:26380,10.0.0.2,[::1]:5000/mymaster')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26380 },
        { host: '10.0.0.2', port: 26379 },
        { host: '::1', port: 5000 },
      ],
      name: 'mymaster',
    });
    expect(parseSentinelUrl('redis+sentinel://h:1/m/3').db).toBe(3);
  });

  it('takes userinfo as the data nodes credentials', () => {
    const t = parseSentinelUrl('redis+sentinel://app:s%40cret@h:1/m');
    expect(t.username).toBe('app');
    expect(t.password).toBe('s@cret');
  });

  it('rejects a missing master name or bad address without echoing the password', () => {
    expect(() => parseSentinelUrl('redis+sentinel://u:hunter2@h:1')).toThrow(/master name is missing/);
    try {
      parseSentinelUrl('redis+sentinel://u:hunter2@h:1/');
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
    expect(() => parseSentinelUrl('redis+sentinel://h:x/m')).toThrow(/bad sentinel address/);
    expect(() => parseSentinelUrl('redis+sentinel://h:1/m/-1')).toThrow(/bad database/);
  });

  it('redacts passwords in any redis URL', () => {
    expect(redactRedisUrl('redis://:pw@h:6379/0')).toBe('redis://:***@h:6379/0');
    expect(redactRedisUrl('redis+sentinel://u:pw@a:1,b:2/m')).toBe('redis+sentinel://u:***@a:1,b:2/m');
    expect(redactRedisUrl('redis+cluster://a:1,b:2')).toBe('redis+cluster://a:1,b:2');
  });
});

describe('redisAuthFromEnv', () => {
  it('reads values and *_FILE secrets (one trailing newline dropped)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lingua-auth-'));
    try {
      writeFileSync(join(dir, 'pw'), 'from-file\n');
      expect(
        redisAuthFromEnv({
          LINGUA_REDIS_PASSWORD_FILE: join(dir, 'pw'),
          LINGUA_REDIS_USERNAME: 'app',
          LINGUA_REDIS_SENTINEL_PASSWORD: 'sp',
        }),
      ).toEqual({ username: 'app', password: 'from-file', sentinelPassword: 'sp' });
      expect(redisAuthFromEnv({})).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
