--[[
  session-quota-acquire: admits a session into its tenant's concurrent-session quota.

  The quota is a zset of session ids scored by lease expiry, refreshed by the gateway that
  owns each session (session-quota-refresh), so the sessions of a gateway that died age out
  on their own; plus a hash of the owning connection id, so a late release by an old owner
  cannot free the slot of a session that was resumed on another connection. Live = score > now.

  Idempotent under re-send, and a resumed session counts once: a session already in the set
  is refreshed and handed to this connection whatever the count.

  KEYS[1]  tenant sessions zset  ({t:<tenant>}:sessions)  session id -> lease expiry (ms)
  KEYS[2]  tenant owners hash    ({t:<tenant>}:sessconn)  session id -> connection id
  ARGV[1]  session id
  ARGV[2]  connection id
  ARGV[3]  now (ms)
  ARGV[4]  lease (ms, >= 1)
  ARGV[5]  max live sessions of the tenant (0 = no limit)
  ARGV[6]  prune limit: at most this many expired entries removed per call (1..1000)

  Returns  {1, live}  admitted; live = live sessions of the tenant, this one included
           {0, live}  refused: the tenant already has live >= max sessions
           -8 BAD_ARGUMENT
  Both keys get a TTL of lease + 1 s on every call (nothing is kept longer than its newest lease).
]]
local zkey, hkey = KEYS[1], KEYS[2]
local sid, conn = ARGV[1], ARGV[2]
local now, lease, max, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if sid == '' or conn == '' or now == nil or lease == nil or lease < 1 or max == nil or max < 0
  or limit == nil or limit < 1 or limit > 1000 then
  return -8
end

-- Expired leases belong to sessions whose gateway died (a live owner refreshes): forget them.
local expired = redis.call('ZRANGE', zkey, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
if #expired > 0 then
  redis.call('ZREM', zkey, unpack(expired))
  redis.call('HDEL', hkey, unpack(expired))
end

local known = redis.call('ZSCORE', zkey, sid)
local live = redis.call('ZCOUNT', zkey, '(' .. now, '+inf')
if (known == false or tonumber(known) <= now) and max > 0 and live >= max then
  return { 0, live }
end
if known == false or tonumber(known) <= now then live = live + 1 end
redis.call('ZADD', zkey, now + lease, sid)
redis.call('HSET', hkey, sid, conn)
redis.call('PEXPIRE', zkey, lease + 1000)
redis.call('PEXPIRE', hkey, lease + 1000)
return { 1, live }
