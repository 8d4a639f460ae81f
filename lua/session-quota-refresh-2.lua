--[[
  session-quota-refresh: the owning gateway extends the leases of its live sessions of one
  tenant (see session-quota-acquire). A session whose entry was pruned meanwhile (a refresh
  came late) is put back: it was admitted and is still live. A session now owned by another
  connection (resumed elsewhere) is left alone and reported.

  Idempotent: re-sending only moves the same leases to the same expiry.

  KEYS[1]  tenant sessions zset  ({t:<tenant>}:sessions)
  KEYS[2]  tenant owners hash    ({t:<tenant>}:sessconn)
  ARGV[1]  now (ms)
  ARGV[2]  lease (ms, >= 1)
  ARGV[3], ARGV[4], ...  pairs: session id, connection id (at most 1000 pairs)

  Returns  {session id, ...}  sessions not refreshed because another connection owns them
           -8 BAD_ARGUMENT
]]
local zkey, hkey = KEYS[1], KEYS[2]
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = #ARGV - 2
if now == nil or lease == nil or lease < 1 or n % 2 ~= 0 or n > 2000 then return -8 end
local lost = {}
for i = 3, #ARGV, 2 do
  local sid, conn = ARGV[i], ARGV[i + 1]
  local owner = redis.call('HGET', hkey, sid)
  if owner == false or owner == conn then
    redis.call('ZADD', zkey, now + lease, sid)
    redis.call('HSET', hkey, sid, conn)
  else
    lost[#lost + 1] = sid
  end
end
if n > 0 then
  redis.call('PEXPIRE', zkey, lease + 1000)
  redis.call('PEXPIRE', hkey, lease + 1000)
end
return lost
