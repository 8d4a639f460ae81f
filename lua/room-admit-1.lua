--[[
  Counts a room toward its tenant's room limit (idempotent: a room already counted is
  refreshed). The tenant's rooms are a zset scored by expiry (now + room idle time), refreshed
  by joins and, now and then, by speech; a room past its expiry has expired (its own keys carry
  the same idle TTL) and stops counting.

  KEYS[1]  tenant rooms zset   ({t:<tenant>}:rooms)  room id -> expiry ms
  ARGV[1]  room id   ARGV[2] now ms   ARGV[3] room idle ms   ARGV[4] max rooms (0 = no limit)
  ARGV[5]  prune limit: at most this many expired entries removed per call (1..1000)

  Returns: { 1, live } counted (live includes this room) | { 0, live } refused: the tenant has max rooms
  The zset gets a TTL of the idle time + 1 s on every call.
]]
local key, room = KEYS[1], ARGV[1]
local now, idle, max, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local expired = redis.call('ZRANGE', key, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
if #expired > 0 then redis.call('ZREM', key, unpack(expired)) end
local known = redis.call('ZSCORE', key, room)
local live = redis.call('ZCOUNT', key, '(' .. now, '+inf')
if known == false and max > 0 and live >= max then return { 0, live } end
if known == false then live = live + 1 end
redis.call('ZADD', key, now + idle, room)
redis.call('PEXPIRE', key, idle + 1000)
return { 1, live }
