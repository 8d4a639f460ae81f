/**
 * Per-instance inbox: a Redis Stream read with XREADGROUP on a dedicated blocking connection.
 * Entries are acknowledged (XACK + XDEL, lua/inbox-ack-1.lua) only after the handler finished
 * delivering (the WebSocket send). Entries left pending (handler failed, process restarted)
 * are re-claimed after `claimIdleMs`; after `maxDeliveries` they move to the instance's
 * dead-letter stream with the reason (lua/inbox-dead-letter-2.lua). The DLQ is capped, never
 * trimmed: at `dlqCapacity` entries a dead-letter is refused and the entry stays pending here
 * (counted by `onDeadLetterRefused`, logged at most once a minute) until an operator replays or
 * deletes dead letters. Same-instance messages skip the stream but go through the same handler.
 */
import type { Cluster, Redis } from 'ioredis';
import { decode, encode } from './codec';
import { DeadLetter, type Envelope } from './envelope';
import type { Keyspace } from './keys';
import { SCRIPTS } from './script-defs.gen';
import { runScript } from './scripts';

type RedisClient = Redis | Cluster;

export interface InboxLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface InboxOptions {
  redis: RedisClient;
  /** dedicated connection for XREADGROUP BLOCK (never auto-pipelined, never shared) */
  blocking: RedisClient;
  ks: Keyspace;
  instanceId: string;
  handle: (env: Envelope) => Promise<void>;
  log: InboxLogger;
  group?: string;
  batch?: number;
  blockMs?: number;
  claimIdleMs?: number;
  claimIntervalMs?: number;
  maxDeliveries?: number;
  /** the DLQ holds at most this many entries; more dead letters stay pending in the inbox */
  dlqCapacity?: number;
  probeIntervalMs?: number;
  /** called for every entry moved to the DLQ */
  onDeadLetter?: (reason: string, env: Envelope | null) => void;
  /** called when a dead-letter was refused because the DLQ is full (the entry stays pending) */
  onDeadLetterRefused?: (reason: string) => void;
  /**
   * Envelopes for one instance sent in the same event-loop turn go out as one entry (`b`), to
   * instances that say they read batches (presence meta `inbox_batch`). Default true.
   */
  batchSends?: boolean;
}

/** Envelopes per batch entry at most (a bound for the reader, too). */
export const INBOX_MAX_BATCH = 64;
/** Presence meta an instance publishes when its inbox reads batch entries. */
export const INBOX_BATCH_META = 'inbox_batch';
/** How long a peer's answer about batches is trusted before it is asked again. */
const BATCH_PEER_TTL_MS = 10_000;

/** Default DLQ capacity per instance (LINGUA_DLQ_MAX). */
export const DLQ_CAPACITY = 100_000;

export const INBOX_GROUP = 'lingua';

export class InboxBus {
  readonly instanceId: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly o: Required<Omit<InboxOptions, 'onDeadLetter' | 'onDeadLetterRefused'>> &
    Pick<InboxOptions, 'onDeadLetter' | 'onDeadLetterRefused'>;
  /** per target: encoded envelopes waiting for this turn's flush, and their senders */
  private readonly outbox = new Map<
    string,
    { raws: Buffer[]; waiters: [() => void, (e: unknown) => void][] }
  >();
  private flushQueued = false;
  /** per target: does it read batch entries (its presence meta), and since when we know */
  private readonly batchPeers = new Map<string, { ok: boolean; at: number; asking: boolean }>();
  private lastFullLogAt = 0;
  /** ms timestamp of the last probe that made the full round trip through our own inbox */
  lastProbeAt = 0;
  readonly stats = {
    received: 0,
    delivered: 0,
    deadLettered: 0,
    deadLetterRefused: 0,
    reclaimed: 0,
    sentRemote: 0,
    sentLocal: 0,
    /** XADDs that carried more than one envelope */
    batchesSent: 0,
  };

  constructor(opts: InboxOptions) {
    this.o = {
      group: INBOX_GROUP,
      batch: 256,
      blockMs: 1000,
      claimIdleMs: 5000,
      claimIntervalMs: 2000,
      maxDeliveries: 5,
      dlqCapacity: DLQ_CAPACITY,
      probeIntervalMs: 1000,
      batchSends: true,
      ...opts,
    };
    this.instanceId = opts.instanceId;
  }

  private get inboxKey(): string {
    return this.o.ks.inbox(this.instanceId);
  }

  async start(): Promise<void> {
    await ensureGroup(this.o.redis, this.inboxKey, this.o.group);
    this.running = true;
    this.loop = this.readLoop();
    this.timers.push(
      setInterval(
        () => void this.reclaim().catch((err) => this.o.log.warn({ err }, 'inbox reclaim failed')),
        this.o.claimIntervalMs,
      ),
      setInterval(() => void this.probe().catch(() => {}), this.o.probeIntervalMs),
    );
    for (const t of this.timers) t.unref();
    void this.probe().catch(() => {});
  }

  async stop(): Promise<void> {
    this.flushOutbox(); // what was sent goes out now, not after the caller closed Redis
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.o.blocking.disconnect();
    await this.loop?.catch(() => {});
  }

  /** True while probes make the round trip through our own inbox. */
  isConsuming(now = Date.now()): boolean {
    return this.running && now - this.lastProbeAt < this.o.probeIntervalMs * 3 + 500;
  }

  /** Routes an envelope to an instance's inbox; our own instance skips the stream. */
  async send(target: string, env: Envelope): Promise<void> {
    if (target === this.instanceId && env.t !== 'probe') {
      this.stats.sentLocal++;
      try {
        await this.o.handle(env);
        return;
      } catch (err) {
        if (err instanceof DeadLetter) throw err;
        // Local delivery failed: fall back to the stream, which retries and dead-letters.
      }
    }
    this.stats.sentRemote++;
    const raw = encode(env);
    if (!this.o.batchSends || !this.readsBatches(target)) {
      await this.o.redis.xadd(this.o.ks.inbox(target), '*', 'm', raw);
      return;
    }
    // Resolved once the entry holding it is in the stream, as for a single XADD.
    await new Promise<void>((resolve, reject) => {
      let q = this.outbox.get(target);
      if (!q) {
        q = { raws: [], waiters: [] };
        this.outbox.set(target, q);
      }
      q.raws.push(raw);
      q.waiters.push([resolve, reject]);
      if (q.raws.length >= INBOX_MAX_BATCH) this.flushTarget(target);
      else if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => this.flushOutbox());
      }
    });
  }

  private flushOutbox(): void {
    this.flushQueued = false;
    for (const target of [...this.outbox.keys()]) this.flushTarget(target);
  }

  /** One XADD for what is queued for `target`: `m` for one envelope, `b` for several. */
  private flushTarget(target: string): void {
    const q = this.outbox.get(target);
    if (!q) return;
    this.outbox.delete(target);
    const key = this.o.ks.inbox(target);
    const sent =
      q.raws.length === 1
        ? this.o.redis.xadd(key, '*', 'm', q.raws[0]!)
        : this.o.redis.xadd(key, '*', 'b', frameBatch(q.raws));
    if (q.raws.length > 1) this.stats.batchesSent++;
    sent.then(
      () => {
        for (const [resolve] of q.waiters) resolve();
      },
      (err: unknown) => {
        for (const [, reject] of q.waiters) reject(err);
      },
    );
  }

  /**
   * Whether `target` reads batch entries. An instance of an earlier version would dead-letter
   * them, so until its presence says so (asked in the background, re-asked every 10 s) it gets
   * one entry per envelope: a rolling upgrade loses nothing.
   */
  private readsBatches(target: string): boolean {
    const now = Date.now();
    const known = this.batchPeers.get(target);
    if ((!known || now - known.at > BATCH_PEER_TTL_MS) && !known?.asking) {
      if (this.batchPeers.size > 1024) this.batchPeers.clear(); // instance ids churn; stay bounded
      const entry = { ok: known?.ok ?? false, at: known?.at ?? 0, asking: true };
      this.batchPeers.set(target, entry);
      this.o.redis
        .get(this.o.ks.presence(target))
        .then((v) => {
          entry.ok = v !== null && (JSON.parse(v) as Record<string, unknown>)[INBOX_BATCH_META] === 1;
        })
        .catch(() => {})
        .finally(() => {
          entry.at = Date.now();
          entry.asking = false;
        });
    }
    return known?.ok ?? false;
  }

  private async probe(): Promise<void> {
    await this.o.redis.xadd(
      this.inboxKey,
      '*',
      'm',
      encode({ t: 'probe', from: this.instanceId, ts: Date.now() }),
    );
  }

  private async readLoop(): Promise<void> {
    // First our own pending entries (a restart with the same consumer name), then new ones.
    let cursor = '0';
    while (this.running) {
      try {
        const res = (await this.o.blocking.callBuffer(
          'XREADGROUP',
          'GROUP',
          this.o.group,
          this.instanceId,
          'COUNT',
          this.o.batch,
          'BLOCK',
          this.o.blockMs,
          'STREAMS',
          this.inboxKey,
          cursor,
        )) as [Buffer, [Buffer, Buffer[] | null][]][] | null;
        const entries = res?.[0]?.[1] ?? [];
        // Pending entries are paged by id; once none are left, switch to new entries.
        if (cursor !== '>') cursor = entries.length ? entries[entries.length - 1]![0].toString() : '>';
        if (entries.length) await this.process(entries);
      } catch (err) {
        if (!this.running) break;
        if (String(err).includes('NOGROUP')) {
          await ensureGroup(this.o.redis, this.inboxKey, this.o.group).catch(() => {});
        } else {
          this.o.log.warn({ err }, 'inbox read failed; retrying');
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }

  private async process(
    entries: [Buffer, Buffer[] | null][],
    deliveries?: Map<string, number>,
  ): Promise<void> {
    const acks: string[] = [];
    await Promise.all(
      entries.map(async ([idBuf, fields]) => {
        const id = idBuf.toString();
        this.stats.received++;
        if (!fields) {
          // deleted while pending: nothing to deliver
          acks.push(id);
          return;
        }
        let env: Envelope | null = null;
        try {
          const raws = entryEnvelopes(fields);
          if (!raws) throw new DeadLetter('malformed entry: no m or b field');
          // A batch entry is acknowledged once all of it was handled; a failure retries all of it
          // (handlers are idempotent: the inbox is at-least-once anyway).
          await Promise.all(
            raws.map(async (raw) => {
              let one: Envelope;
              try {
                one = decode<Envelope>(raw);
              } catch {
                throw new DeadLetter('undecodable envelope');
              }
              if (raws.length === 1) env = one;
              if (one.t === 'probe') {
                if (one.from === this.instanceId) this.lastProbeAt = Math.max(this.lastProbeAt, one.ts);
              } else {
                await this.o.handle(one);
                this.stats.delivered++;
              }
            }),
          );
          acks.push(id);
        } catch (err) {
          if (err instanceof DeadLetter) {
            await this.deadLetter(id, err.reason, deliveries?.get(id) ?? 1, env);
          } else {
            this.o.log.warn(
              { err, entry: id, type: (env as Envelope | null)?.t },
              'inbox delivery failed; will retry',
            );
          }
        }
      }),
    );
    for (let i = 0; i < acks.length; i += 1000) {
      await runScript(
        this.o.redis,
        SCRIPTS.inboxAck,
        [this.inboxKey],
        [this.o.group, ...acks.slice(i, i + 1000)],
      );
    }
  }

  private async deadLetter(
    id: string,
    reason: string,
    deliveries: number,
    env: Envelope | null,
  ): Promise<void> {
    const r = await runScript(
      this.o.redis,
      SCRIPTS.inboxDeadLetter,
      [this.inboxKey, this.o.ks.dlq(this.instanceId)],
      [this.o.group, id, reason, deliveries, Date.now(), this.o.dlqCapacity, this.instanceId],
    );
    if (r === 'full') {
      this.stats.deadLetterRefused++;
      this.o.onDeadLetterRefused?.(reason);
      const now = Date.now();
      if (now - this.lastFullLogAt >= 60_000) {
        this.lastFullLogAt = now;
        this.o.log.error(
          { entry: id, reason, capacity: this.o.dlqCapacity, refused: this.stats.deadLetterRefused },
          'DLQ full: the entry stays pending in the inbox; replay or delete dead letters (lingua dlq)',
        );
      }
      return;
    }
    // Counted once the script moved it (not after the index write): the entry is in the DLQ now.
    this.stats.deadLettered++;
    this.o.onDeadLetter?.(reason, env);
    await this.o.redis.sadd(this.o.ks.dlqIndex(), this.instanceId);
  }

  /** Re-claims entries idle past claimIdleMs; dead-letters those delivered too often. Bounded. */
  async reclaim(): Promise<void> {
    const pending = (await this.o.redis.xpending(
      this.inboxKey,
      this.o.group,
      'IDLE',
      this.o.claimIdleMs,
      '-',
      '+',
      100,
    )) as [string, string, number, number][];
    if (!pending.length) return;
    const retry: string[] = [];
    const counts = new Map<string, number>();
    for (const [id, , , count] of pending) {
      counts.set(id, count + 1);
      if (count >= this.o.maxDeliveries) {
        await this.deadLetter(id, `delivery failed ${count} times`, count, null);
      } else retry.push(id);
    }
    if (!retry.length) return;
    // xclaimBuffer, not callBuffer('XCLAIM', …): with auto-pipelining (the request connection)
    // ioredis 5 drops the command name of call/callBuffer and Redis answers "unknown command".
    const claimer = this.o.redis as unknown as {
      xclaimBuffer(...args: (string | number)[]): Promise<[Buffer, Buffer[] | null][]>;
    };
    const claimed = (await claimer.xclaimBuffer(
      this.inboxKey,
      this.o.group,
      this.instanceId,
      this.o.claimIdleMs,
      ...retry,
    )) as [Buffer, Buffer[] | null][];
    this.stats.reclaimed += claimed.length;
    if (claimed.length) await this.process(claimed, counts);
  }
}

export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String(err).includes('BUSYGROUP')) throw err;
  }
}

/**
 * A batch field: each encoded envelope as a 4-byte big-endian length and its bytes. Plain
 * framing rather than msgpack so that Lua can split it (Redis's cmsgpack knows no bin type):
 * lua/inbox-dead-letter-2.lua turns a batch into one dead letter per envelope.
 */
export function frameBatch(raws: readonly Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(raws.reduce((n, r) => n + 4 + r.length, 0));
  let at = 0;
  for (const r of raws) {
    out.writeUInt32BE(r.length, at);
    r.copy(out, at + 4);
    at += 4 + r.length;
  }
  return out;
}

/**
 * The encoded envelopes of an inbox entry: its `m` field, or the items of its `b` field (a batch,
 * frameBatch, at most INBOX_MAX_BATCH). null when the entry has neither or `b` is malformed.
 */
export function entryEnvelopes(fields: Buffer[]): Buffer[] | null {
  const m = fieldValue(fields, 'm');
  if (m) return [m];
  const b = fieldValue(fields, 'b');
  if (!b) return null;
  const items: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 4 > b.length || items.length === INBOX_MAX_BATCH) return null;
    const len = b.readUInt32BE(at);
    if (len === 0 || at + 4 + len > b.length) return null;
    items.push(b.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return items.length ? items : null;
}

function fieldValue(fields: Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1];
  return undefined;
}
