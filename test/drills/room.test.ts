import { describe, expect, it } from 'vitest';
import { drill } from './support';

describe('drill room', () => {
  it('a 6-member room in 3 languages over 3 gateways, one SIGKILLed: every listener gets every speaker’s every utterance once, in order, in its language', async () => {
    const s = await drill('room', { sessions: 4 });
    const room = s.room!;
    expect(room.members).toHaveLength(6);
    expect(room.languages).toEqual(['en', 'ja', 'zh']);
    expect(new Set(room.members.map((m) => m.first_gateway))).toEqual(new Set([1, 2, 3]));
    expect(room.tally.pairs).toBe(30);
    expect(room.tally.expected).toBeGreaterThan(0);
    expect(room.tally).toMatchObject({ lost: 0, duplicated: 0, wrong: 0, out_of_order: 0 });
    const missing = Object.values(room.tally.missing).reduce((a, b) => a + b, 0);
    expect(room.tally.results + missing).toBe(room.tally.expected);
    expect(room.settled).toBe(true);
    // The killed gateway's members came back into the room, saying what they had heard.
    expect(room.moved_members).toBeGreaterThan(0);
    expect(room.rejoined_members).toBe(room.moved_members);
    expect(room.resumes_with_room_heard).toBeGreaterThanOrEqual(room.moved_members);
    expect(room.recovery.not_recovered_pairs).toBe(0);
    expect(room.recovery.all_max_ms).toEqual(expect.any(Number));
    expect(room.latency_before_fault_ms?.count).toBeGreaterThan(0);
    expect(room.latency_after_fault_ms?.count).toBeGreaterThan(0);
  }, 300_000);
});
