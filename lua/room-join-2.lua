--[[
  A session joins (or re-joins: idempotent, its entry is replaced) a meeting room. The room is
  two hashes under one hash tag per room; both live as long as the room has speech or joins
  (TTL = the room idle time, renewed by every join and fan-out), so an abandoned room expires.

  KEYS[1]  room members hash   room:members   session id -> member blob (JSON)
  KEYS[2]  room first hash     room:first     "<listener>|<speaker>" -> first utterance index
  ARGV[1]  session id   ARGV[2] member blob   ARGV[3] max members   ARGV[4] room idle ttl ms

  Returns: { 'joined' | 'rejoined', sid1, blob1, sid2, blob2, ... } (every member, this one included)
  Errors:  -12 ROOM_FULL (the room has max members and this session is not one of them)
]]
local members, first = KEYS[1], KEYS[2]
local sid = ARGV[1]
local status = 'rejoined'
if redis.call('HEXISTS', members, sid) == 0 then
  if redis.call('HLEN', members) >= tonumber(ARGV[3]) then return -12 end
  status = 'joined'
end
redis.call('HSET', members, sid, ARGV[2])
redis.call('PEXPIRE', members, ARGV[4])
if redis.call('EXISTS', first) == 1 then redis.call('PEXPIRE', first, ARGV[4]) end
local out = { status }
local all = redis.call('HGETALL', members)
for i = 1, #all do out[#out + 1] = all[i] end
return out
