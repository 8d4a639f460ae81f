/**
 * `lingua demo --room`: a multilingual meeting for the dashboard. A few simulated members,
 * each speaking its own language and listening in it, join one room and take turns speaking
 * (one utterance every interval, round-robin), so the rooms panel shows members, languages
 * and traffic, and every member gets the others' utterances as `room_result`s.
 */
import { randomBytes } from 'node:crypto';
import { LinguaSession, type RoomResult } from '@lingua/client-sdk';

export interface RoomDemoMember {
  name: string;
  /** the language it speaks and listens in */
  lang: string;
  /** its session's tgt_lang (its own translation_result; the room uses `lang`) */
  tgt: string;
}

/** Four people, three languages: a zh, a ja and two en speakers. */
export const ROOM_DEMO_MEMBERS: readonly RoomDemoMember[] = [
  { name: 'Ana', lang: 'zh', tgt: 'en' },
  { name: 'Ben', lang: 'en', tgt: 'zh' },
  { name: 'Chie', lang: 'ja', tgt: 'en' },
  { name: 'Dan', lang: 'en', tgt: 'ja' },
];

export interface RoomDemoOptions {
  urls: string[];
  roomId: string;
  /** how many members (the table above, repeated with numbered names past 4) */
  members: number;
  /** one utterance every this long, members in turn */
  intervalMs: number;
  token?: string;
  /** 0.5 s of 16 kHz pcm16 by default */
  utteranceBytes?: number;
  /** every room_result a member hears (the CLI prints a few) */
  onHeard?: (listener: RoomDemoMember, result: RoomResult) => void;
}

export interface RoomDemoStats {
  sent: number;
  /** room_result frames received, over all members */
  heard: number;
  missing: number;
  errors: number;
}

export function roomDemoMembers(n: number): RoomDemoMember[] {
  return Array.from({ length: n }, (_, i) => {
    const m = ROOM_DEMO_MEMBERS[i % ROOM_DEMO_MEMBERS.length]!;
    return i < ROOM_DEMO_MEMBERS.length ? { ...m } : { ...m, name: `${m.name} ${Math.floor(i / 4) + 1}` };
  });
}

export class RoomDemo {
  readonly stats: RoomDemoStats = { sent: 0, heard: 0, missing: 0, errors: 0 };
  readonly members: RoomDemoMember[];
  readonly sessions: LinguaSession[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RoomDemoOptions) {
    this.members = roomDemoMembers(opts.members);
  }

  async start(): Promise<void> {
    const { opts } = this;
    for (const [i, m] of this.members.entries()) {
      // Spread the members over the given gateways.
      const urls = [...opts.urls.slice(i % opts.urls.length), ...opts.urls.slice(0, i % opts.urls.length)];
      const s = new LinguaSession({ urls, srcLang: m.lang, tgtLang: m.tgt, token: opts.token });
      s.on('roomResult', (r) => {
        this.stats.heard++;
        opts.onHeard?.(m, r);
      });
      s.on('roomMissing', () => this.stats.missing++);
      s.on('error', () => this.stats.errors++);
      this.sessions.push(s);
      await s.start();
      await s.joinRoom(opts.roomId, { displayName: m.name, listenLang: m.lang });
    }
    let turn = 0;
    this.timer = setInterval(() => {
      const s = this.sessions[turn++ % this.sessions.length];
      if (!s || s.state === 'closed' || s.state === 'closing') return;
      try {
        s.sendUtterance(randomBytes(opts.utteranceBytes ?? 16_000));
        this.stats.sent++;
      } catch {
        this.stats.errors++; // buffer full while reconnecting: skip this turn
      }
    }, opts.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    // Closing leaves the room: the room disappears with its last member.
    await Promise.allSettled(this.sessions.map((s) => s.close(2000)));
  }
}
