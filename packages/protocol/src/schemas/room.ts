/** Meeting-room messages on the session socket (v1.6), docs/protocol.md "Rooms". */
import { type Static, Type } from '@sinclair/typebox';
import { AudioFormat, Base64, Id, LangCode, MissingReasonSchema, NonNegInt, ResultText } from './common';

/** Shown to the other members; plain text, bounded. */
export const MAX_DISPLAY_NAME_CHARS = 64;
export const DisplayName = () => Type.String({ minLength: 1, maxLength: MAX_DISPLAY_NAME_CHARS });

// ---- client → server ----

export const RoomJoinSchema = Type.Object({
  type: Type.Literal('room_join'),
  room_id: Id(),
  /** Shown to the other members; default: the session id. */
  display_name: Type.Optional(DisplayName()),
  /** The language this member hears the others in; default: the session's `tgt_lang`. */
  listen_lang: Type.Optional(LangCode()),
});
export type RoomJoin = Static<typeof RoomJoinSchema>;

export const RoomLeaveSchema = Type.Object({ type: Type.Literal('room_leave') });
export type RoomLeave = Static<typeof RoomLeaveSchema>;

// ---- server → client ----

export const RoomMemberSchema = Type.Object({
  session_id: Id(),
  display_name: DisplayName(),
  /** what it speaks (its session's `src_lang`) */
  src_lang: LangCode(),
  /** what it listens in */
  listen_lang: LangCode(),
});
export type RoomMemberInfo = Static<typeof RoomMemberSchema>;

export const RoomJoinedSchema = Type.Object({
  type: Type.Literal('room_joined'),
  room_id: Id(),
  /** Every member, this session included. */
  members: Type.Array(RoomMemberSchema, { maxItems: 1024 }),
});
export type RoomJoined = Static<typeof RoomJoinedSchema>;

export const RoomLeftSchema = Type.Object({
  type: Type.Literal('room_left'),
  room_id: Id(),
});
export type RoomLeft = Static<typeof RoomLeftSchema>;

export const RoomMemberJoinedSchema = Type.Object({
  type: Type.Literal('room_member_joined'),
  room_id: Id(),
  member: RoomMemberSchema,
});
export type RoomMemberJoined = Static<typeof RoomMemberJoinedSchema>;

export const RoomMemberLeftSchema = Type.Object({
  type: Type.Literal('room_member_left'),
  room_id: Id(),
  session_id: Id(),
});
export type RoomMemberLeft = Static<typeof RoomMemberLeftSchema>;

export const RoomSpeakerSchema = Type.Object({ session_id: Id(), display_name: DisplayName() });
export type RoomSpeaker = Static<typeof RoomSpeakerSchema>;

/**
 * v1.10: `no_tts_node`: no node with TTS served the pair when the utterance was dispatched;
 * `speaker_without_tts`: this listener reads the speaker's own translation (its `tgt_lang`),
 * which the speaker's session did not ask speech for; `transcript`: the listener listens in
 * the speaker's language (text only).
 */
export const RoomTtsSkippedSchema = Type.Union([
  Type.Literal('no_tts_node'),
  Type.Literal('speaker_without_tts'),
  Type.Literal('transcript'),
]);
export type RoomTtsSkipped = Static<typeof RoomTtsSkippedSchema>;

export const RoomResultSchema = Type.Object({
  type: Type.Literal('room_result'),
  room_id: Id(),
  speaker: RoomSpeakerSchema,
  /** The speaker's utterance index: per speaker strictly increasing, each once. */
  utterance_index: NonNegInt(),
  src_lang: LangCode(),
  /** The listener's `listen_lang` (equal to `src_lang` for a listener of the same language). */
  tgt_lang: LangCode(),
  text_asr: ResultText(),
  text_translated: ResultText(),
  /** v1.10: speech of `text_translated`, only for a listener whose session asked `features.tts`. */
  tts_audio: Type.Optional(Base64()),
  tts_format: Type.Optional(AudioFormat()),
  /** v1.10: why a listener that asked `features.tts` got no `tts_audio` (never silently absent). */
  tts_skipped: Type.Optional(RoomTtsSkippedSchema),
});
export type RoomResult = Static<typeof RoomResultSchema>;

export const RoomMissingResultSchema = Type.Object({
  type: Type.Literal('room_missing_result'),
  room_id: Id(),
  speaker: RoomSpeakerSchema,
  utterance_index: NonNegInt(),
  reason: MissingReasonSchema,
});
export type RoomMissingResult = Static<typeof RoomMissingResultSchema>;
