/**
 * A session's seat in a meeting room (docs/architecture.md "Rooms"). Two roles:
 *
 * - speaker: after each utterance of the session is recorded, one fan-out script (the room's
 *   slot) names the listeners; each distinct listen_lang other than the session's own src/tgt
 *   gets one ordinary job in the speaker's lane into that language (`<sid>:<lang>`, a session
 *   record of its own: failover, timeouts and the result log are the job machinery's). The
 *   session's own job serves listeners of its src (transcript) and tgt. Each outcome is pushed
 *   to the listeners' instances through their inboxes.
 * - listener: one ResultOrderer per speaker, starting at the first index the fan-out gave it,
 *   so each (listener, speaker) gets every index exactly once, in order. A gap is looked up in
 *   the lane's result log after LINGUA_RESULT_CHECK_MS and declared missing (first writer wins)
 *   after the gap timeout, exactly like a session's own results.
 */
import {
  checkPool,
  type Envelope,
  type FanoutListener,
  isScriptError,
  jobIdFor,
  type LoggedOutcome,
  laneFor,
  laneId,
  type RoomMember,
  ScriptErrorCode,
} from '@lingua/cluster';
import { encodeBinaryTts, type RoomJoin, type RoomMemberInfo, type RoomTtsSkipped } from '@lingua/protocol';
import type { GatewayContext } from './context';
import type { Finalized } from './finalize';
import type { Logger } from './logger';
import { ResultOrderer } from './result-order';
import type { SessionInfo } from './session-handshake';

type RoomOutcomeEnv = Extract<Envelope, { t: 'room-outcome' }>;
type RoomMemberEnv = Extract<Envelope, { t: 'room-member' }>;
type LoggedResult = Extract<LoggedOutcome, { kind: 'result' }>['result'];

export interface SeatOwner {
  readonly conn: string;
  readonly sessionId: string;
  readonly info: SessionInfo;
  readonly log: Logger;
  /** v1.13: the session asked for results with TTS as binary frames (`session_init.binary_audio`) */
  readonly binaryResults: boolean;
  send(frame: object): void;
  sendBinary(bytes: Uint8Array): void;
  error(code: string, message: string, extra?: { field?: string }): void;
}

interface Heard {
  name: string;
  lane: string;
  /** the speaker's own session asks for speech (its own job, read by listeners of its tgt, has it) */
  speakerTts: boolean;
  order: ResultOrderer<LoggedOutcome>;
  /** next lookup of the head gap in the lane's result log */
  checkAt: number;
}

/** Fan-outs remembered for pushing their outcomes (older ones are found by the listeners' checks). */
const MAX_FANOUTS = 256;
/**
 * How long a lane remembers whether a TTS node serves its pair: the check (one SMEMBERS plus
 * one SCARD per cell) then costs nothing per utterance, and a TTS node that joins or leaves is
 * seen within this long.
 */
const TTS_CHECK_TTL_MS = 5_000;

export class RoomSeat {
  roomId: string | undefined;
  private name = '';
  private listens = '';
  /** speaker side: utterance index → who hears it, and when it was finalized */
  private readonly fanouts = new Map<number, { at: number; listeners: FanoutListener[] }>();
  /** speaker side: lanes bound to this connection */
  private readonly lanes = new Set<string>();
  /** when the room last counted toward the tenant's limit (refreshed by speech) */
  private admittedAt = 0;
  /** listener side: speaker session id → its results for us */
  private readonly heard = new Map<string, Heard>();
  /** speaker side: lane language → whether a TTS node serves (src, lang), until when */
  private readonly ttsServes = new Map<string, { ok: boolean; until: number }>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly owner: SeatOwner,
  ) {}

  private get tenant(): string {
    return this.owner.info.tenant;
  }

  /** This session asked for speech (`features.tts`): as a listener, its room results carry it. */
  private get wantsTts(): boolean {
    return this.owner.info.features.tts === true;
  }

  async join(msg: RoomJoin, restore?: { heard: Map<string, number> }): Promise<void> {
    if (this.roomId !== undefined && this.roomId !== msg.room_id) {
      this.owner.error('BAD_MESSAGE', `already in room "${this.roomId}": send room_leave first`, {
        field: 'room_id',
      });
      return;
    }
    const me = this.member(msg.display_name ?? this.owner.sessionId, msg.listen_lang ?? this.owner.info.tgt);
    const counted = await this.ctx.rooms.admit(this.tenant, msg.room_id, this.ctx.now());
    if (!counted.ok) {
      this.owner.error(
        'TOO_MANY_ROOMS',
        `tenant "${this.tenant}" has ${counted.live} live rooms, its limit is ${this.ctx.cfg.tenantMaxRooms} (LINGUA_TENANT_MAX_ROOMS): join an existing room or leave one`,
      );
      return;
    }
    this.admittedAt = this.ctx.now();
    let r: Awaited<ReturnType<GatewayContext['rooms']['join']>>;
    try {
      r = await this.ctx.rooms.join(this.tenant, msg.room_id, me);
    } catch (err) {
      if (!isScriptError(err, ScriptErrorCode.ROOM_FULL)) throw err;
      this.owner.error(
        'ROOM_FULL',
        `room "${msg.room_id}" has ${this.ctx.cfg.roomMaxMembers} members (LINGUA_ROOM_MAX_MEMBERS)`,
      );
      return;
    }
    if (this.roomId === undefined || this.listens !== me.listens) this.heard.clear();
    this.roomId = msg.room_id;
    this.name = me.displayName;
    this.listens = me.listens;
    await this.ctx.rooms.recordOnSession(
      this.owner.sessionId,
      JSON.stringify({ r: msg.room_id, n: me.displayName, l: me.listens }),
    );
    this.owner.send({ type: 'room_joined', room_id: msg.room_id, members: r.members.map(memberInfo) });
    if (r.status === 'joined') await tellMembers(this.ctx, msg.room_id, r.members, 'joined', me);
    if (restore) {
      await this.rebindLanes(r.members);
      await this.replay(r.members, restore.heard);
    }
  }

  /**
   * After a resume: this speaker's lanes into the other members' languages are bound to this
   * connection at once (not only at its next utterance), so outcomes of lane jobs still in
   * flight come here and are pushed, instead of going to the old (perhaps dead) instance and
   * reaching the listeners only through their result-log checks.
   */
  private async rebindLanes(members: RoomMember[]): Promise<void> {
    const { info } = this.owner;
    const langs = new Set(
      members
        .filter((m) => m.sessionId !== this.owner.sessionId)
        .map((m) => m.listens)
        .filter((l) => l !== info.src && l !== info.tgt),
    );
    await Promise.all([...langs].map((lang) => this.bindLane(lang, this.ctx.now())));
  }

  /**
   * After a resume (possibly on another instance): back into the room recorded on the session
   * (the member's instance is updated), then each speaker's room results after what the client
   * has (`resume.room_heard`) are replayed from the lanes' result logs, like a session's own.
   */
  async restore(heard: { session_id: string; utterance_index: number }[] | undefined): Promise<void> {
    const blob = await this.ctx.redis.hget(this.ctx.ks.session(this.owner.sessionId), 'room');
    if (!blob) return;
    let rec: { r?: string; n?: string; l?: string } = {};
    try {
      rec = JSON.parse(blob);
    } catch {}
    if (!rec.r) return;
    await this.join(
      { type: 'room_join', room_id: rec.r, display_name: rec.n, listen_lang: rec.l },
      { heard: new Map((heard ?? []).map((h) => [h.session_id, h.utterance_index])) },
    );
  }

  private async replay(members: RoomMember[], heard: Map<string, number>): Promise<void> {
    const me = this.owner.sessionId;
    const speakers = members.filter((m) => m.sessionId !== me);
    const firsts = await this.ctx.rooms.firsts(
      this.tenant,
      this.roomId!,
      me,
      speakers.map((s) => s.sessionId),
    );
    const now = this.ctx.now();
    for (const s of speakers) {
      const first = firsts.get(s.sessionId);
      if (first === undefined) continue; // nothing of it was fanned out to us yet
      const next = Math.max(first, (heard.get(s.sessionId) ?? -1) + 1);
      const h: Heard = {
        name: s.displayName,
        lane: laneFor(s, this.listens),
        speakerTts: s.tts,
        order: new ResultOrderer<LoggedOutcome>({ gapTimeoutMs: this.ctx.cfg.gapTimeoutMs, nextIndex: next }),
        checkAt: 0,
      };
      this.heard.set(s.sessionId, h);
      for (const o of await this.ctx.store.readResults(h.lane, next - 1))
        this.deliver(s.sessionId, h, o, now);
    }
  }

  /** room_leave, or the session closed. Idempotent. */
  async leave(reply: boolean): Promise<void> {
    const roomId = this.roomId;
    if (roomId === undefined) {
      if (reply) this.owner.error('NOT_IN_ROOM', 'room_leave: this session is not in a room');
      return;
    }
    this.roomId = undefined;
    this.heard.clear();
    this.fanouts.clear();
    const r = await this.ctx.rooms.leave(this.tenant, roomId, this.owner.sessionId);
    await this.ctx.rooms.recordOnSession(this.owner.sessionId, '');
    if (r.removed && r.members.length === 0) await this.ctx.rooms.forget(this.tenant, roomId);
    if (reply) this.owner.send({ type: 'room_left', room_id: roomId });
    if (r.removed) {
      const me = this.member(this.name, this.listens);
      await tellMembers(this.ctx, roomId, r.members, 'left', me);
    }
  }

  /** This session as a member of its room, as the other members' instances know it. */
  private member(displayName: string, listens: string): RoomMember {
    const { info } = this.owner;
    return {
      sessionId: this.owner.sessionId,
      displayName,
      speaks: info.src,
      listens,
      tgt: info.tgt,
      instance: this.ctx.cfg.instanceId,
      tts: this.wantsTts,
    };
  }

  // ---- speaker side ----

  /**
   * Who hears utterance `u`: run before the session's own job is recorded, so its outcome
   * (which may come back at once) finds its listeners. Idempotent per index (a re-sent
   * utterance after a resume plans again and gets the same first indexes).
   */
  async plan(u: Finalized): Promise<FanoutListener[] | null> {
    if (this.roomId === undefined) return null;
    let listeners: FanoutListener[];
    try {
      listeners = await this.ctx.rooms.fanout(
        this.tenant,
        this.roomId,
        this.owner.sessionId,
        u.index,
        this.ctx.now(),
      );
    } catch (err) {
      if (!isScriptError(err, ScriptErrorCode.NOT_MEMBER)) throw err;
      // The room expired (no speech for LINGUA_ROOM_IDLE_MS) or we were removed.
      const roomId = this.roomId;
      this.roomId = undefined;
      this.heard.clear();
      this.owner.send({ type: 'room_left', room_id: roomId });
      return null;
    }
    const now = this.ctx.now();
    if (now - this.admittedAt > this.ctx.cfg.roomIdleMs / 4) {
      // Speech keeps the room counted toward the tenant's limit as long as it keeps it alive.
      this.admittedAt = now;
      await this.ctx.rooms.admit(this.tenant, this.roomId, now);
    }
    this.fanouts.set(u.index, { at: u.finalizedAt, listeners });
    for (const k of this.fanouts.keys()) {
      if (this.fanouts.size <= MAX_FANOUTS) break;
      this.fanouts.delete(k);
    }
    return listeners;
  }

  /**
   * Before the session's own job (so an accepted utterance has its lanes): one job per other
   * listen_lang, in the speaker's lanes.
   */
  async fanout(u: Finalized, listeners: FanoutListener[]): Promise<void> {
    const { info } = this.owner;
    const langs = new Set(listeners.map((l) => l.listens).filter((l) => l !== info.src && l !== info.tgt));
    const now = this.ctx.now();
    // The languages in parallel: the session's own job waits for them (one round trip, not k).
    await Promise.all(
      [...langs].map(async (lang) => {
        // Speech only when a listener of the language wants it and some node can make it (a
        // job asking TTS of a pair without TTS nodes would find no node at all).
        const wanted = listeners.some(
          (l) => l.listens === lang && l.tts && l.sessionId !== this.owner.sessionId,
        );
        const tts = wanted && (await this.ttsServed(lang, now));
        await this.dispatchLane(u, lang, now, tts);
      }),
    );
  }

  /** Whether a TTS node serves (src, lang): the pool check of session_init, cached per lane. */
  private async ttsServed(lang: string, now: number): Promise<boolean> {
    const c = this.ttsServes.get(lang);
    if (c && c.until > now) return c.ok;
    const ok =
      (await checkPool(this.ctx.redis, this.ctx.ks, { src: this.owner.info.src, tgt: lang, tts: true })) ===
      'ok';
    this.ttsServes.set(lang, { ok, until: now + TTS_CHECK_TTL_MS });
    return ok;
  }

  /** Opens this speaker's lane into `lang`, or re-binds it to this connection (once per connection). */
  private async bindLane(lang: string, now: number): Promise<string> {
    const { info } = this.owner;
    const lane = laneId(this.owner.sessionId, lang);
    if (this.lanes.has(lane)) return lane;
    await this.ctx.rooms.openLane({
      speaker: this.owner.sessionId,
      lang,
      tenant: info.tenant,
      src: info.src,
      audioFormat: info.fmt,
      sampleRate: info.rate,
      features: {},
      owner: this.ctx.cfg.instanceId,
      conn: this.owner.conn,
      now,
      ttlMs: this.ctx.cfg.sessionTtlMs,
    });
    this.lanes.add(lane);
    return lane;
  }

  private async dispatchLane(u: Finalized, lang: string, now: number, tts: boolean): Promise<void> {
    const { info } = this.owner;
    const lane = await this.bindLane(lang, now);
    await this.ctx.jobs.dispatchNew(
      {
        jobId: jobIdFor(lane, u.index),
        sessionId: lane,
        index: u.index,
        tenant: info.tenant,
        src: info.src,
        tgt: lang,
        audioFormat: info.fmt,
        sampleRate: info.rate,
        features: tts ? { tts: true } : {},
        audio: u.audio,
        lastChunkSeq: -1,
        reason: u.reason,
        now,
        owner: this.ctx.cfg.instanceId,
        conn: this.owner.conn,
      },
      undefined,
      u.finalizedAt,
    );
    this.ctx.metrics.roomFanoutJobs.inc();
  }

  /** An outcome of the session's own job: for listeners of its src (transcript) and tgt. */
  ownOutcome(o: LoggedOutcome): void {
    const { src, tgt } = this.owner.info;
    this.push(o, this.owner.sessionId, (l) => l === src || l === tgt);
  }

  /** An outcome of one of the session's lanes. */
  laneOutcome(lang: string, o: LoggedOutcome): void {
    const { src, tgt } = this.owner.info;
    if (lang === src || lang === tgt) return;
    this.push(o, laneId(this.owner.sessionId, lang), (l) => l === lang);
  }

  private push(o: LoggedOutcome, lane: string, hears: (lang: string) => boolean): void {
    if (this.roomId === undefined) return;
    const planned = this.fanouts.get(o.index);
    if (!planned) {
      // Planned by this session's previous connection (a resume): ask the room again (the
      // fan-out is idempotent per listener), then push.
      const room = this.roomId;
      this.ctx.rooms
        .fanout(this.tenant, room, this.owner.sessionId, o.index, this.ctx.now())
        .then((ls) => {
          if (this.roomId !== room) return;
          this.fanouts.set(o.index, { at: 0, listeners: ls });
          this.push(o, lane, hears);
        })
        .catch((err) =>
          this.owner.log.debug({ err: String(err) }, 'room re-plan failed (the listeners check)'),
        );
      return;
    }
    // Speech only to the listeners that can use it: the others do not carry its bytes (a
    // transcript listener never, the audio speaks the speaker's tgt_lang).
    const text = withoutSpeech(o);
    const { src } = this.owner.info;
    for (const l of planned.listeners) {
      if (!hears(l.listens) || o.index < l.first) continue;
      this.ctx.inbox
        .send(l.instance, {
          t: 'room-outcome',
          to: l.sessionId,
          room: this.roomId,
          speaker: this.owner.sessionId,
          name: this.name,
          lane,
          first: l.first,
          at: planned.at,
          outcome: l.tts && l.listens !== src ? o : text,
          stts: this.wantsTts,
        })
        .catch((err) => this.owner.log.debug({ err: String(err) }, 'room push failed (the listener checks)'));
    }
  }

  // ---- listener side ----

  onMember(env: RoomMemberEnv): void {
    if (env.room !== this.roomId) return;
    if (env.event === 'joined') {
      this.owner.send({
        type: 'room_member_joined',
        room_id: env.room,
        member: {
          session_id: env.member,
          display_name: env.name,
          src_lang: env.speaks,
          listen_lang: env.listens,
        },
      });
    } else {
      this.heard.delete(env.member);
      this.owner.send({ type: 'room_member_left', room_id: env.room, session_id: env.member });
    }
  }

  onOutcome(env: RoomOutcomeEnv): void {
    if (env.room !== this.roomId) return;
    const now = this.ctx.now();
    let h = this.heard.get(env.speaker);
    if (!h) {
      h = {
        name: env.name,
        lane: env.lane,
        speakerTts: env.stts === true,
        order: new ResultOrderer<LoggedOutcome>({
          gapTimeoutMs: this.ctx.cfg.gapTimeoutMs,
          nextIndex: env.first,
        }),
        checkAt: 0,
      };
      this.heard.set(env.speaker, h);
    }
    this.deliver(env.speaker, h, env.outcome, now, env.at);
  }

  private deliver(speaker: string, h: Heard, o: LoggedOutcome, now: number, at = 0): void {
    const out = h.order.push({ index: o.index, kind: o.kind, payload: o }, now);
    // Latency of live pushes only (a replay or a lookup measures the outage, not the path).
    if (at > 0 && out.deliver.some((d) => d.payload === o && o.kind === 'result')) {
      this.ctx.metrics.roomResultSeconds.observe(Math.max(0, now - at) / 1000);
    }
    for (const item of out.deliver) this.send(speaker, h, item.payload);
    if (h.order.held > 0 && h.checkAt <= now) h.checkAt = now + this.ctx.cfg.resultCheckMs;
  }

  private send(speaker: string, h: Heard, o: LoggedOutcome): void {
    const base = { room_id: this.roomId!, speaker: { session_id: speaker, display_name: h.name } };
    if (o.kind === 'result') {
      const r = o.result;
      const transcript = this.listens === r.src_lang;
      const frame = {
        type: 'room_result' as const,
        ...base,
        utterance_index: o.index,
        src_lang: r.src_lang,
        tgt_lang: this.listens,
        text_asr: r.text_asr,
        text_translated: transcript ? r.text_asr : r.text_translated,
      };
      const speech = this.wantsTts ? roomTts(r, transcript, h.lane === speaker, h.speakerTts) : undefined;
      if (speech && 'tts' in speech && this.owner.binaryResults) {
        // v1.13: the speech as raw bytes (the session asked `binary_audio`); no base64.
        this.owner.sendBinary(
          encodeBinaryTts({ ...frame, tts_audio: '', tts_format: speech.tts_format }, speech.tts),
        );
      } else {
        this.owner.send({ ...frame, ...(speech ? speechFields(speech) : {}) });
      }
      this.ctx.metrics.roomResults.inc({ kind: 'result' });
    } else {
      this.owner.send({ type: 'room_missing_result', ...base, utterance_index: o.index, reason: o.reason });
      this.ctx.metrics.roomResults.inc({ kind: 'missing' });
    }
  }

  /** When onTimer has work next (a gap to look up or to declare); null when none. */
  nextDeadline(): number | null {
    let at: number | null = null;
    for (const h of this.heard.values()) {
      if (h.order.held === 0) continue;
      const d = Math.min(h.checkAt, h.order.nextDeadline() ?? Number.POSITIVE_INFINITY);
      if (at === null || d < at) at = d;
    }
    return at;
  }

  /** Gaps: looked up in the lane's result log, then declared missing past the gap timeout. */
  async onTimer(now: number): Promise<void> {
    for (const [speaker, h] of [...this.heard]) {
      if (h.order.held === 0) continue;
      if (now >= h.checkAt) {
        h.checkAt = now + this.ctx.cfg.resultCheckMs;
        for (let n = 0; n < 64 && h.order.held > 0; n++) {
          const o = await this.ctx.store.outcomeOf(h.lane, h.order.nextIndex);
          if (!o) break;
          this.deliver(speaker, h, o, now);
        }
      }
      for (const index of h.order.tick(now).declareMissing) {
        this.deliver(speaker, h, await this.ctx.store.declareMissing(h.lane, index, 'timeout', now), now);
      }
    }
  }
}

/** `o` without its speech (the same object when it has none). */
export function withoutSpeech(o: LoggedOutcome): LoggedOutcome {
  if (o.kind !== 'result' || !o.result.tts_audio) return o;
  const result = { ...o.result };
  delete result.tts_audio;
  delete result.tts_format;
  return { ...o, result };
}

/**
 * The speech fields of a room_result for a listener that asked `features.tts`: the audio, or
 * why there is none (never silently absent). A transcript listener reads the speaker's own
 * lane, whose audio (if any) speaks the speaker's tgt_lang, not the listener's language.
 */
/**
 * What a listener who asked for speech gets with a room result: the TTS bytes, or why there is
 * none. One decision for both encodings (roomSpeech: base64 in JSON; v1.13 binary frames).
 */
export function roomTts(
  r: LoggedResult,
  transcript: boolean,
  ownLane: boolean,
  speakerTts: boolean,
): { tts: Uint8Array; tts_format: string } | { tts_skipped: RoomTtsSkipped } {
  if (transcript) return { tts_skipped: 'transcript' };
  if (r.tts_audio?.length) return { tts: r.tts_audio, tts_format: r.tts_format ?? 'pcm16' };
  return { tts_skipped: ownLane && !speakerTts ? 'speaker_without_tts' : 'no_tts_node' };
}

/** roomTts as the fields of a text `room_result`. */
export function roomSpeech(
  r: LoggedResult,
  transcript: boolean,
  ownLane: boolean,
  speakerTts: boolean,
): { tts_audio: string; tts_format: string } | { tts_skipped: RoomTtsSkipped } {
  return speechFields(roomTts(r, transcript, ownLane, speakerTts));
}

function speechFields(
  s: ReturnType<typeof roomTts>,
): { tts_audio: string; tts_format: string } | { tts_skipped: RoomTtsSkipped } {
  return 'tts' in s ? { tts_audio: Buffer.from(s.tts).toString('base64'), tts_format: s.tts_format } : s;
}

function memberInfo(m: RoomMember): RoomMemberInfo {
  return { session_id: m.sessionId, display_name: m.displayName, src_lang: m.speaks, listen_lang: m.listens };
}

/** Tells every other member's instance that `me` joined or left (best effort: a lost one is not retried). */
export async function tellMembers(
  ctx: GatewayContext,
  room: string,
  members: RoomMember[],
  event: 'joined' | 'left',
  me: RoomMember,
): Promise<void> {
  await Promise.all(
    members
      .filter((m) => m.sessionId !== me.sessionId)
      .map((m) =>
        ctx.inbox
          .send(m.instance, {
            t: 'room-member',
            to: m.sessionId,
            room,
            event,
            member: me.sessionId,
            name: me.displayName,
            speaks: me.speaks,
            listens: me.listens,
          })
          .catch(() => {}),
      ),
  );
}
