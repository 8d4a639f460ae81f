--[[
  One finalized utterance of a room member is about to be translated for the room: returns
  who hears it and, per listener, the first utterance index of this speaker it receives (set
  once, by the first fan-out after it joined: a member joining mid-utterance hears the
  speaker's next utterance on). The speaker's fan-outs run in index order, so each listener
  receives a contiguous run of indexes from its first one. Renews the room's idle TTL.

  Counts the utterance in the room's stats (utterances/min for operators): two one-minute
  buckets (`b` = current minute number, `c` = its count, `p` = the previous minute's count),
  so the hash has a fixed size; the speaker's last counted index (field 's:<session id>')
  keeps a re-plan or re-sent utterance (index not above it) from counting twice.

  KEYS[1]  room members hash   room:members   session id -> member blob (JSON)
  KEYS[2]  room first hash     room:first     "<listener>|<speaker>" -> first utterance index
  KEYS[3]  room stats hash     room:stats     b, c, p; 's:'..speaker -> last counted index
  ARGV[1]  speaker session id   ARGV[2] utterance index   ARGV[3] room idle ttl ms
  ARGV[4]  now ms

  Returns: { sid1, blob1, first1, sid2, blob2, first2, ... } (every member but the speaker)
  Errors:  -13 NOT_MEMBER (the speaker is not in the room: it left, or the room expired)
]]
local members, first, stats = KEYS[1], KEYS[2], KEYS[3]
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
local last = tonumber(redis.call('HGET', stats, 's:' .. speaker) or '-1')
if tonumber(idx) > last then
  redis.call('HSET', stats, 's:' .. speaker, idx)
  local minute = math.floor(tonumber(ARGV[4]) / 60000)
  local b = tonumber(redis.call('HGET', stats, 'b') or '-1')
  if minute == b then
    redis.call('HINCRBY', stats, 'c', 1)
  elseif minute > b then
    local prev = 0
    if minute == b + 1 then prev = tonumber(redis.call('HGET', stats, 'c') or '0') end
    redis.call('HSET', stats, 'b', minute, 'c', 1, 'p', prev)
  end
  -- (a clock behind the bucket: counted nowhere rather than in the wrong minute)
end
redis.call('PEXPIRE', members, ARGV[3])
redis.call('PEXPIRE', first, ARGV[3])
redis.call('PEXPIRE', stats, ARGV[3])
return out
