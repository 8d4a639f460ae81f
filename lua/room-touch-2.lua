--[[
  A gateway renews the leases of the room members whose sockets it holds, and removes members
  whose lease ran out: their session's gateway died or their socket closed without a
  session_close, and nobody has held them for a whole lease. A member first seen without a
  lease gets one from whoever touches first, so a member that vanished before its own gateway
  ever renewed it is removed too. Leases live in the room's stats hash (fields 'a:<session>'),
  which dies with the room; the room's idle TTL is not renewed (a lease is not speech). The
  first-index entries of a removed member stay (they expire with the room): if its session
  resumes, it re-joins and its replay starting points are still there. Bounded by the room's
  member limit.

  KEYS[1]  room members hash   room:members   session id -> member blob (JSON)
  KEYS[2]  room stats hash     room:stats     'a:'..session -> lease end ms (plus the stats)
  ARGV[1]  now ms   ARGV[2] lease ms   ARGV[3..] session ids the caller holds in this room

  Returns: { #removed, sid1, blob1, ..., then the remaining members sidN, blobN, ... }
]]
local members, stats = KEYS[1], KEYS[2]
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl = redis.call('PTTL', members)
if ttl < 0 then return { 0 } end
for i = 3, #ARGV do
  if redis.call('HEXISTS', members, ARGV[i]) == 1 then
    redis.call('HSET', stats, 'a:' .. ARGV[i], now + lease)
  end
end
local all = redis.call('HGETALL', members)
local removed, kept = {}, {}
for i = 1, #all, 2 do
  local sid = all[i]
  local a = redis.call('HGET', stats, 'a:' .. sid)
  if not a then
    redis.call('HSET', stats, 'a:' .. sid, now + lease)
    kept[#kept + 1] = sid
    kept[#kept + 1] = all[i + 1]
  elseif tonumber(a) < now then
    redis.call('HDEL', members, sid)
    redis.call('HDEL', stats, 'a:' .. sid, 's:' .. sid)
    removed[#removed + 1] = sid
    removed[#removed + 1] = all[i + 1]
  else
    kept[#kept + 1] = sid
    kept[#kept + 1] = all[i + 1]
  end
end
-- the stats hash may be new (no speech yet): it dies with the room
if redis.call('PTTL', stats) < 0 then redis.call('PEXPIRE', stats, ttl) end
local out = { #removed / 2 }
for i = 1, #removed do out[#out + 1] = removed[i] end
for i = 1, #kept do out[#out + 1] = kept[i] end
return out
