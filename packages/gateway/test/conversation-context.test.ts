import { describe, expect, it } from 'vitest';
import { ConversationContext } from '../src/conversation-context';

const opts = { maxUtterances: 3, windowMs: 10_000, maxBytes: 2048 };
/** utterance `index` spoken from `start` to `end` (ms) */
const u = (index: number, start: number, end = start) => ({ index, firstChunkAt: start, finalizedAt: end });
const indexes = (c: { utterance_index: number }[]) => c.map((x) => x.utterance_index);

describe('ConversationContext', () => {
  it('carries the newest N delivered final texts of the group, oldest first', () => {
    const c = new ConversationContext(opts);
    expect(c.next(u(0, 0, 1000))).toEqual([]);
    c.delivered(0, 'zh:a', 'en:a');
    expect(c.next(u(1, 2000, 3000))).toEqual([
      { utterance_index: 0, text_asr: 'zh:a', text_translated: 'en:a' },
    ]);
    c.delivered(1, 'zh:b', 'en:b');
    expect(indexes(c.next(u(2, 4000, 5000)))).toEqual([0, 1]);
    c.delivered(2, 'zh:c', 'en:c');
    expect(indexes(c.next(u(3, 6000, 7000)))).toEqual([0, 1, 2]);
    c.delivered(3, 'zh:d', 'en:d');
    expect(indexes(c.next(u(4, 8000, 9000)))).toEqual([1, 2, 3]);
  });

  it('a pause longer than the window starts a new group: nothing from before it', () => {
    const c = new ConversationContext(opts);
    c.next(u(0, 0, 1000));
    c.delivered(0, 'a', 'a');
    c.next(u(1, 1000 + 10_000, 12_000)); // exactly the window: same group
    c.delivered(1, 'b', 'b');
    expect(indexes(c.next(u(2, 12_000 + 10_001, 23_000)))).toEqual([]); // past it: new group
    c.delivered(2, 'c', 'c');
    expect(indexes(c.next(u(3, 24_000)))).toEqual([2]);
  });

  it('an utterance still being translated is not in the context; missing ones are skipped', () => {
    const c = new ConversationContext(opts);
    c.next(u(0, 0));
    c.next(u(1, 10));
    c.delivered(0, 'a', 'a');
    // index 1 has no result yet (or gets missing_result): index 2 sees only 0
    expect(indexes(c.next(u(2, 20)))).toEqual([0]);
  });

  it('bounded in UTF-8 bytes: the newest entries that fit, contiguous back from the newest', () => {
    const c = new ConversationContext({ ...opts, maxBytes: 20 });
    c.next(u(0, 0));
    c.delivered(0, 'aaaa', 'aaaa'); // 8 bytes
    c.next(u(1, 1));
    c.delivered(1, 'é'.repeat(3), 'é'.repeat(3)); // 12 bytes
    c.next(u(2, 2));
    c.delivered(2, 'cc', 'cc'); // 4 bytes
    expect(indexes(c.next(u(3, 3)))).toEqual([1, 2]); // 16 bytes; with index 0: 24 > 20
    c.delivered(3, 'x'.repeat(30), '');
    expect(c.next(u(4, 4))).toEqual([]); // the newest alone is over: nothing older either
  });

  it('0 utterances: no context at all', () => {
    const c = new ConversationContext({ ...opts, maxUtterances: 0 });
    c.next(u(0, 0));
    c.delivered(0, 'a', 'a');
    expect(c.next(u(1, 1))).toEqual([]);
  });
});
