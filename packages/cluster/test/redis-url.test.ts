import { describe, expect, it } from 'vitest';
import { isClusterUrl, parseClusterSeeds } from '../src/redis';
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
