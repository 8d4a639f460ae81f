/**
 * Room member leases: every third of `LINGUA_ROOM_MEMBER_LEASE_MS` this instance renews the
 * membership of the sessions it holds, one script per room (room-touch-2). A member nobody
 * renewed for a whole lease — its instance died, or its socket closed without session_close
 * and it did not resume — is removed by whichever instance touches the room next, which tells
 * the other members (`room_member_left`). Its session may still resume: it then re-joins.
 */
import type { GatewayContext } from './context';
import { tellMembers } from './room-seat';

export class RoomLeases {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly ctx: GatewayContext) {}

  start(): void {
    const every = Math.max(250, Math.floor(this.ctx.cfg.roomMemberLeaseMs / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over the rooms this instance seats members in. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const rooms = new Map<string, { tenant: string; room: string; held: string[] }>();
      for (const [sessionId, actor] of this.ctx.sessions) {
        const room = actor.roomId;
        if (room === undefined) continue;
        const key = `${actor.tenant}\u0000${room}`;
        const r = rooms.get(key) ?? { tenant: actor.tenant, room, held: [] };
        rooms.set(key, r);
        r.held.push(sessionId);
      }
      for (const { tenant, room, held } of rooms.values()) {
        const now = this.ctx.now();
        const t = await this.ctx.rooms.touch(tenant, room, held, now, this.ctx.cfg.roomMemberLeaseMs);
        for (const gone of t.removed) {
          this.ctx.metrics.roomMembersExpired.inc();
          this.ctx.log.info({ session: gone.sessionId, room }, 'room member lease ran out: removed');
          await tellMembers(this.ctx, room, t.members, 'left', gone);
        }
      }
    } catch (err) {
      this.ctx.log.warn({ err: String(err) }, 'room member lease renewal failed; retrying on the next tick');
    } finally {
      this.running = false;
    }
  }
}
