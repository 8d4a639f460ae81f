/**
 * Meeting rooms for operators: `GET /api/v1/rooms` (admin) and the `lingua_rooms` gauge. Both
 * read Redis (every instance answers the same), the gauge at most once per `maxAgeMs`.
 *
 *   GET /api/v1/rooms  { served_by, rooms: [{ tenant, room_id, members: [{session_id,
 *                      display_name, src_lang, listen_lang}], languages, utterances_per_min,
 *                      expires_in_ms }] }
 *
 * `utterances_per_min`: utterances spoken in the room over the last minute (estimated from two
 * one-minute buckets in the room's slot, counted by room-fanout-3, each index once).
 */
import type { RoomStore } from '@lingua/cluster';
import { type Counter, Gauge, type Registry } from 'prom-client';
import type { AdminAuth } from './auth';
import type { GatewayContext } from './context';
import { getRoute, json } from './http';
import type { HttpTransport } from './transport/types';

export async function roomsView(rooms: RoomStore, now = Date.now()) {
  return (await rooms.list(1000, now)).map((r) => ({
    tenant: r.tenant,
    room_id: r.room,
    members: r.members.map((m) => ({
      session_id: m.sessionId,
      display_name: m.displayName,
      src_lang: m.speaks,
      listen_lang: m.listens,
    })),
    languages: [...new Set(r.members.flatMap((m) => [m.speaks, m.listens]))].sort(),
    utterances_per_min: r.utterancesPerMin,
    expires_in_ms: r.ttlMs,
  }));
}

export function registerRoomRoutes(app: HttpTransport, ctx: GatewayContext, admin?: AdminAuth): void {
  getRoute(
    app,
    '/api/v1/rooms',
    async () => json({ served_by: ctx.cfg.instanceId, rooms: await roomsView(ctx.rooms, ctx.now()) }),
    admin,
  );
}

/** lingua_rooms / lingua_room_members: cluster-wide (aggregate with max()). */
export function registerRoomMetrics(
  registry: Registry,
  rooms: RoomStore,
  redisErrors: Counter<'op'>,
  maxAgeMs = 2000,
  now: () => number = Date.now,
): void {
  let last = { rooms: 0, members: 0 };
  let readAt = Number.NEGATIVE_INFINITY;
  const read = async () => {
    if (now() - readAt < maxAgeMs) return last;
    try {
      const list = await rooms.list();
      last = { rooms: list.length, members: list.reduce((n, r) => n + r.members.length, 0) };
      readAt = now();
    } catch {
      redisErrors.inc({ op: 'room_metrics' });
    }
    return last;
  };
  new Gauge({
    name: 'lingua_rooms',
    help: 'Live meeting rooms, cluster-wide',
    registers: [registry],
    async collect() {
      this.set((await read()).rooms);
    },
  });
  new Gauge({
    name: 'lingua_room_members',
    help: 'Members of live meeting rooms, cluster-wide',
    registers: [registry],
    async collect() {
      this.set((await read()).members);
    },
  });
}
