--[[
  One finalized utterance of a room member is about to be translated for the room: returns
  who hears it and, per listener, the first utterance index of this speaker it receives (set
  once, by the first fan-out after it joined: a member joining mid-utterance hears the
  speaker's next utterance on). The speaker's fan-outs run in index order, so each listener
  receives a contiguous run of indexes from its first one. Renews the room's idle TTL.

  KEYS[1]  room members hash   room:members   session id -> member blob (JSON)
  KEYS[2]  room first hash     room:first     "<listener>|<speaker>" -> first utterance index
  ARGV[1]  speaker session id   ARGV[2] utterance index   ARGV[3] room idle ttl ms

  Returns: { sid1, blob1, first1, sid2, blob2, first2, ... } (every member but the speaker)
  Errors:  -13 NOT_MEMBER (the speaker is not in the room: it left, or the room expired)
]]
local members, first = KEYS[1], KEYS[2]
local speaker, idx = ARGV[1], ARGV[2]
if redis.call('HEXISTS', members, speaker) == 0 then return -13 end
local all = redis.call('HGETALL', members)
local out = {}
for i = 1, #all, 2 do
  local m = all[i]
  if m ~= speaker then
    local f = m .. '|' .. speaker
    redis.call('HSETNX', first, f, idx)
    out[#out + 1] = m
    out[#out + 1] = all[i + 1]
    out[#out + 1] = redis.call('HGET', first, f)
  end
end
redis.call('PEXPIRE', members, ARGV[3])
redis.call('PEXPIRE', first, ARGV[3])
return out
