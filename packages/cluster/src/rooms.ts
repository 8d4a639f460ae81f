/**
 * Typed wrappers for the meeting-room scripts (lua/room-*.lua). A room's membership lives in
 * its own slot `{r:<tenant>/<room>}`; the heavy traffic (fan-out jobs and their result logs)
 * lives in the speakers' lanes, spread over the session shards (docs/architecture.md "Rooms").
 */
import type { Cluster, Redis } from 'ioredis';
import type { Keyspace } from './keys';
import { SCRIPTS } from './script-defs.gen';
import { runScript } from './scripts';

type RedisClient = Redis | Cluster;

/** A member as stored in the room (short keys: it is read on every fan-out). */
export interface RoomMember {
  sessionId: string;
  displayName: string;
  /** the language it speaks (its session's src_lang) */
  speaks: string;
  /** the language it listens in */
  listens: string;
  /** its session's tgt_lang (its own job already translates into it) */
  tgt: string;
  /** the instance that owned its socket when it joined */
  instance: string;
  /** its session asked for speech (`features.tts`): its room results carry `tts_audio` */
  tts: boolean;
}

/** A listener of one fan-out, with the first index of this speaker it receives. */
export interface FanoutListener extends RoomMember {
  first: number;
}

/** The lane a listener in `listens` reads a speaker's utterances from (its own session for src/tgt). */
export function laneFor(speaker: Pick<RoomMember, 'sessionId' | 'speaks' | 'tgt'>, listens: string): string {
  return listens === speaker.speaks || listens === speaker.tgt
    ? speaker.sessionId
    : laneId(speaker.sessionId, listens);
}

/** Lane of a speaker into one language: a session record whose jobs are the fan-out jobs. */
export function laneId(speakerSessionId: string, lang: string): string {
  return `${speakerSessionId}:${lang}`;
}

/** The speaker of a lane id, or null for an ordinary session id (session ids contain no ':'). */
export function parseLaneId(id: string): { speaker: string; lang: string } | null {
  const i = id.lastIndexOf(':');
  if (i <= 0) return null;
  return { speaker: id.slice(0, i), lang: id.slice(i + 1) };
}

function encodeMember(m: RoomMember): string {
  // `v` only when set: records of members without TTS stay as they were.
  return JSON.stringify({
    n: m.displayName,
    s: m.speaks,
    l: m.listens,
    t: m.tgt,
    i: m.instance,
    ...(m.tts ? { v: 1 } : {}),
  });
}

function decodeMember(sessionId: string, blob: string): RoomMember {
  let o: { n?: unknown; s?: unknown; l?: unknown; t?: unknown; i?: unknown; v?: unknown } = {};
  try {
    o = JSON.parse(blob);
  } catch {}
  return {
    sessionId,
    displayName: String(o.n ?? ''),
    speaks: String(o.s ?? ''),
    listens: String(o.l ?? ''),
    tgt: String(o.t ?? ''),
    instance: String(o.i ?? ''),
    // Records written before v1.10 have no `v`: no speech.
    tts: o.v === 1,
  };
}

function members(flat: unknown[], from: number): RoomMember[] {
  const out: RoomMember[] = [];
  for (let i = from; i + 1 < flat.length; i += 2)
    out.push(decodeMember(String(flat[i]), String(flat[i + 1])));
  return out;
}

/**
 * Utterances in the last minute from a room's two one-minute buckets (room-fanout-3): the
 * current minute's count plus the previous minute's, weighted by how much of it is still
 * inside the sliding minute (the sliding-window-counter estimate). Pure; one decimal.
 */
export function utterancesPerMinute(s: { b: number | null; c: number; p: number }, now: number): number {
  if (s.b === null) return 0;
  const minute = Math.floor(now / 60_000);
  const rest = 1 - (now % 60_000) / 60_000;
  const v = minute === s.b ? s.c + s.p * rest : minute === s.b + 1 ? s.c * rest : 0;
  return Math.round(v * 10) / 10;
}

export interface RoomStoreConfig {
  maxMembers: number;
  idleMs: number;
  /** live rooms per tenant (0 = no limit) */
  maxRoomsPerTenant: number;
}

export class RoomStore {
  constructor(
    readonly redis: RedisClient,
    readonly ks: Keyspace,
    readonly cfg: RoomStoreConfig,
  ) {}

  private keys(tenant: string, roomId: string): [string, string, string] {
    return [
      this.ks.roomMembers(tenant, roomId),
      this.ks.roomFirst(tenant, roomId),
      this.ks.roomStats(tenant, roomId),
    ];
  }

  /**
   * Live rooms for operators (/api/v1/rooms, lingua_rooms): a SCAN of the room keys on every
   * master, bounded by `max` rooms. Admin-only and cached by callers: not a hot path.
   */
  async list(
    max = 1000,
    now = Date.now(),
  ): Promise<
    { tenant: string; room: string; members: RoomMember[]; ttlMs: number; utterancesPerMin: number }[]
  > {
    const c = this.redis as { nodes?: (role: string) => RedisClient[] };
    const targets =
      typeof c.nodes === 'function' && 'isCluster' in this.redis ? c.nodes('master') : [this.redis];
    const pattern = `${this.ks.prefix}{r:*}:members`;
    const keys: string[] = [];
    for (const node of targets) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0' && keys.length < max);
    }
    const out = [];
    for (const key of keys.slice(0, max)) {
      const tag = /\{r:([^/}]*)\/([^}]*)\}/.exec(key);
      if (!tag) continue;
      const tenant = decodeURIComponent(tag[1]!);
      const [h, ttlMs, counts] = await Promise.all([
        this.redis.hgetall(key),
        this.redis.pttl(key),
        this.redis.hmget(this.ks.roomStats(tenant, tag[2]!), 'b', 'c', 'p'),
      ]);
      const members = Object.entries(h).map(([sid, blob]) => decodeMember(sid, blob));
      if (!members.length) continue;
      const [b, c, p] = counts.map((x) => (x === null ? null : Number(x)));
      const utterancesPerMin = utterancesPerMinute({ b: b ?? null, c: c ?? 0, p: p ?? 0 }, now);
      out.push({ tenant, room: tag[2]!, members, ttlMs, utterancesPerMin });
    }
    return out.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.room.localeCompare(b.room));
  }

  /** Counts `roomId` toward its tenant's limit (or refreshes it); false: the tenant has too many. */
  async admit(tenant: string, roomId: string, now: number): Promise<{ ok: boolean; live: number }> {
    const r = await runScript<[number, number]>(
      this.redis,
      SCRIPTS.roomAdmit,
      [this.ks.tenantRooms(tenant)],
      [roomId, now, this.cfg.idleMs, this.cfg.maxRoomsPerTenant, 100],
    );
    return { ok: Number(r[0]) === 1, live: Number(r[1]) };
  }

  /** The room is gone (its last member left): it stops counting toward the tenant's limit. */
  async forget(tenant: string, roomId: string): Promise<void> {
    await this.redis.zrem(this.ks.tenantRooms(tenant), roomId);
  }

  /** Joins (or re-joins) `roomId`; throws ROOM_FULL. Returns every member, this one included. */
  async join(
    tenant: string,
    roomId: string,
    m: RoomMember,
  ): Promise<{ status: 'joined' | 'rejoined'; members: RoomMember[] }> {
    const [membersKey, firstKey] = this.keys(tenant, roomId);
    const r = await runScript<unknown[]>(
      this.redis,
      SCRIPTS.roomJoin,
      [membersKey, firstKey],
      [m.sessionId, encodeMember(m), this.cfg.maxMembers, this.cfg.idleMs],
    );
    return { status: r[0] as 'joined' | 'rejoined', members: members(r, 1) };
  }

  /** Leaves `roomId` (idempotent). Returns whether it was a member, and who remains. */
  async leave(
    tenant: string,
    roomId: string,
    sessionId: string,
  ): Promise<{ removed: boolean; members: RoomMember[] }> {
    const r = await runScript<unknown[]>(this.redis, SCRIPTS.roomLeave, this.keys(tenant, roomId), [
      sessionId,
    ]);
    return { removed: Number(r[0]) === 1, members: members(r, 1) };
  }

  /**
   * Renews the member leases of the sessions this instance holds in `roomId` and removes the
   * members nobody held for a whole lease (room-touch-2). Returns the removed and the rest.
   */
  async touch(
    tenant: string,
    roomId: string,
    held: string[],
    now: number,
    leaseMs: number,
  ): Promise<{ removed: RoomMember[]; members: RoomMember[] }> {
    const [membersKey, , statsKey] = this.keys(tenant, roomId);
    const r = await runScript<unknown[]>(
      this.redis,
      SCRIPTS.roomTouch,
      [membersKey, statsKey],
      [now, leaseMs, ...held],
    );
    const n = Number(r[0]);
    const all = members(r, 1);
    return { removed: all.slice(0, n), members: all.slice(n) };
  }

  /** The listeners of utterance `index` of `speaker`; throws NOT_MEMBER when it is not in the room. */
  async fanout(
    tenant: string,
    roomId: string,
    speaker: string,
    index: number,
    now: number,
  ): Promise<FanoutListener[]> {
    const r = await runScript<unknown[]>(this.redis, SCRIPTS.roomFanout, this.keys(tenant, roomId), [
      speaker,
      index,
      this.cfg.idleMs,
      now,
    ]);
    const out: FanoutListener[] = [];
    for (let i = 0; i + 2 < r.length; i += 3) {
      out.push({ ...decodeMember(String(r[i]), String(r[i + 1])), first: Number(r[i + 2]) });
    }
    return out;
  }

  /** The first index of each speaker a listener gets (absent: none fanned out to it yet). */
  async firsts(
    tenant: string,
    roomId: string,
    listener: string,
    speakers: string[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!speakers.length) return out;
    const v = await this.redis.hmget(
      this.ks.roomFirst(tenant, roomId),
      ...speakers.map((s) => `${listener}|${s}`),
    );
    for (const [i, s] of speakers.entries()) if (v[i] != null) out.set(s, Number(v[i]));
    return out;
  }

  /** Records the session's room on its session record ('' clears); false when the session is gone. */
  async recordOnSession(sessionId: string, blob: string): Promise<boolean> {
    return (
      (await runScript<number>(this.redis, SCRIPTS.sessionRoom, [this.ks.session(sessionId)], [blob])) === 1
    );
  }

  /** Opens or re-binds a speaker's lane into `lang` to the calling connection. */
  async openLane(l: {
    speaker: string;
    lang: string;
    tenant: string;
    src: string;
    audioFormat: string;
    sampleRate: number;
    features: Record<string, unknown>;
    owner: string;
    conn: string;
    now: number;
    ttlMs: number;
  }): Promise<void> {
    const id = laneId(l.speaker, l.lang);
    await runScript(
      this.redis,
      SCRIPTS.roomLane,
      [this.ks.session(id)],
      [
        id,
        l.tenant,
        l.src,
        l.lang,
        l.audioFormat,
        l.sampleRate,
        JSON.stringify(l.features),
        l.owner,
        l.conn,
        l.now,
        l.ttlMs,
      ],
    );
  }
}
