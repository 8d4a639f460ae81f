/**
 * Instance presence: a key with a PX TTL renewed by the live instance, plus a registry of
 * instances (zset → last seen). An instance whose presence key expired is dead; a survivor
 * then drains its inbox (workers).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Keyspace } from './keys';

type RedisClient = Redis | Cluster;

export interface InstanceInfo {
  id: string;
  lastSeen: number;
  alive: boolean;
  meta: Record<string, unknown>;
}

export class Presence {
  private timer: NodeJS.Timeout | undefined;
  private meta: Record<string, unknown> = {};

  constructor(
    private readonly redis: RedisClient,
    private readonly ks: Keyspace,
    readonly instanceId: string,
    private readonly ttlMs: number,
  ) {}

  /** Extra facts shown by the cluster API (port, version, connection counts…). */
  setMeta(meta: Record<string, unknown>): void {
    this.meta = meta;
  }

  async beat(now = Date.now()): Promise<void> {
    await Promise.all([
      this.redis.set(
        this.ks.presence(this.instanceId),
        JSON.stringify({ ...this.meta, ts: now }),
        'PX',
        this.ttlMs,
      ),
      this.redis.zadd(this.ks.instances(), now, this.instanceId),
    ]);
  }

  start(onError: (err: unknown) => void): void {
    const tick = () => this.beat().catch(onError);
    void tick();
    this.timer = setInterval(tick, Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops renewing; with `remove` the key is deleted so others see the exit at once. */
  async stop(remove: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (remove) await this.redis.del(this.ks.presence(this.instanceId));
  }

  static async isAlive(redis: RedisClient, ks: Keyspace, instanceId: string): Promise<boolean> {
    if (!instanceId) return false;
    return (await redis.exists(ks.presence(instanceId))) === 1;
  }

  static async list(redis: RedisClient, ks: Keyspace, limit = 1000): Promise<InstanceInfo[]> {
    const flat = await redis.zrange(ks.instances(), 0, limit - 1, 'WITHSCORES');
    const ids: { id: string; lastSeen: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) ids.push({ id: flat[i]!, lastSeen: Number(flat[i + 1]) });
    const metas = await Promise.all(ids.map(({ id }) => redis.get(ks.presence(id))));
    return ids.map(({ id, lastSeen }, i) => {
      const raw = metas[i];
      let meta: Record<string, unknown> = {};
      if (raw) {
        try {
          meta = JSON.parse(raw);
        } catch {
          meta = {};
        }
      }
      return { id, lastSeen, alive: raw != null, meta };
    });
  }
}
