/**
 * `lingua drill room` (issue 12): a meeting room of `--room-members` members (default 6, three
 * languages) spread over the gateways, every member speaking, on top of the ordinary
 * background load, while one gateway is SIGKILLed. Its members resume on the survivors with
 * `resume.room_heard`. Proof, per (listener, speaker): every utterance the speaker got
 * accepted reaches the listener exactly once (a `room_result` whose text is the simulated
 * node's output for the listener's language, or a `room_missing_result`), in order; and how
 * long until every member heard every member again.
 */
import { RoomSessions } from './room-load';
import type { Check, Scenario } from './scenarios';
import { gatewayKill } from './scenarios';

const ROOM_ID = 'drill-room';

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

const roomOf = (load: unknown): RoomSessions => {
  if (!(load instanceof RoomSessions)) throw new Error('the room drill runs on its room load');
  return load;
};

export const room: Scenario = {
  name: 'room',
  // As gateway-kill: third-party nodes that reconnect at once and drop in-flight answers.
  nodeKind: 'proto',
  summary:
    'a meeting room (3 languages) over the gateways, every member speaking, while one gateway is SIGKILLed; its members resume elsewhere with resume.room_heard',
  makeLoad(ctx, urls, token) {
    return new RoomSessions(urls, ROOM_ID, ctx.opts.roomMembers, ctx.opts.sessions, { token });
  },
  inject: (ctx) => gatewayKill.inject(ctx),
  async verify(ctx, v) {
    const checks = await gatewayKill.verify(ctx, v);
    const r = roomOf(ctx.load).report(v.steps[0]?.at ?? 0, ctx.cluster.gateways.length);
    checks.push(
      check(
        'members on the killed gateway moved',
        r.moved_members > 0,
        `${r.moved_members} members lost their connection`,
      ),
      check(
        'they resumed with resume.room_heard',
        r.resumes_with_room_heard >= r.moved_members && r.moved_members > 0,
        `${r.resumes_with_room_heard} session_init frames with room_heard`,
      ),
      check(
        'each was back in the room (room_joined after its resume)',
        r.rejoined_members === r.moved_members,
        `${r.rejoined_members} of ${r.moved_members}`,
      ),
      check(
        'every member heard every member again',
        r.recovery.not_recovered_pairs === 0,
        r.recovery.not_recovered_pairs
          ? `${r.recovery.not_recovered_pairs} (listener, speaker) pairs never did`
          : `all ${r.tally.pairs} pairs`,
      ),
    );
    return checks;
  },
  roomReport(ctx, faultAt) {
    return roomOf(ctx.load).report(faultAt, ctx.cluster.gateways.length);
  },
};
