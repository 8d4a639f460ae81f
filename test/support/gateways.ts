/**
 * Starts real gateway instances (in-process, each its own HTTP/WebSocket server on a free
 * port) against one real Redis. Tests talk to them over real WebSockets. The transport is
 * `LINGUA_TRANSPORT` from the environment (`LINGUA_TRANSPORT=node npm test` runs the whole
 * suite on the ws + node:http one), unless a test passes `transport` itself. Every gateway has
 * credentials (test/support/auth.ts) unless the overrides say otherwise (INSECURE).
 */
import { Gateway, type GatewayConfig, loadConfig } from '@lingua/gateway';
import pino from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { TEST_CREDENTIALS } from './auth';
import { type RedisServer, startRedis } from './redis';

export interface TestCluster {
  gateways: Gateway[];
  urls(kind: 'session' | 'node'): string[];
  stop(): Promise<void>;
}

export async function startGateways(
  redisUrl: string,
  count: number,
  overrides: Partial<GatewayConfig> = {},
): Promise<TestCluster> {
  const prefix = overrides.keyPrefix ?? `lingua:test:${Math.random().toString(36).slice(2, 8)}:`;
  const gateways: Gateway[] = [];
  for (let i = 0; i < count; i++) {
    const cfg = loadConfig(
      {},
      {
        redisUrl,
        keyPrefix: prefix,
        port: 0,
        host: '127.0.0.1',
        instanceId: `gw-${i + 1}`,
        logLevel: 'silent',
        ...TEST_CREDENTIALS,
        ...(process.env.LINGUA_TRANSPORT ? { transport: process.env.LINGUA_TRANSPORT } : {}),
        ...overrides,
      },
    );
    gateways.push(await Gateway.start(cfg, pino({ level: process.env.LINGUA_TEST_LOG ?? 'silent' })));
  }
  return {
    gateways,
    urls: (kind) => gateways.map((g) => `ws://127.0.0.1:${g.port}/ws/${kind}`),
    async stop() {
      await Promise.allSettled(gateways.map((g) => g.stop(false)));
    },
  };
}

/**
 * A test file's cluster: a private redis-server and `count` in-process gateways, started before
 * the file's tests and stopped after; whatever a test puts in `open` is closed after it.
 */
export function useGateways(count: number, overrides: Partial<GatewayConfig> = {}) {
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  const open: { close(): unknown }[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    cluster = await startGateways(redis.url, count, overrides);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
  });
  return {
    open,
    get cluster(): TestCluster {
      if (!cluster) throw new Error('useGateways: the cluster starts in beforeAll');
      return cluster;
    },
  };
}
