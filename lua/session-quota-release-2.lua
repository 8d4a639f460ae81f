--[[
  session-quota-release: a session closed or detached; it leaves its tenant's quota, but only
  when this connection still owns it (a resumed session belongs to its new connection).

  Idempotent: a second release finds nothing to remove.

  KEYS[1]  tenant sessions zset  ({t:<tenant>}:sessions)
  KEYS[2]  tenant owners hash    ({t:<tenant>}:sessconn)
  ARGV[1]  session id
  ARGV[2]  connection id

  Returns  1 released, 0 not held by this connection (or already released)
]]
local zkey, hkey = KEYS[1], KEYS[2]
local sid, conn = ARGV[1], ARGV[2]
if redis.call('HGET', hkey, sid) ~= conn then return 0 end
redis.call('ZREM', zkey, sid)
redis.call('HDEL', hkey, sid)
return 1
