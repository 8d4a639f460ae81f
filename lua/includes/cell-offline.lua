-- cell-offline: taking a node offline (node-offline, reap-stale-nodes); the one copy.
--@include "cell-pools"
--@include "cell-held"

-- Leaves every pool and the heartbeat index and returns the reservations the node holds
-- ("<job>|<attempt>", sorted) for failover. The reservations stay until the caller's
-- follow-up (job-fail + release-slot per job) frees them, so a re-sent call returns them
-- again; the node is listed in `lost` until they are gone, and reap-stale-nodes hands them
-- out again if that follow-up never happened (the caller died).
local function node_go_offline(base, node_id, now)
  local nkey = base .. K.node .. node_id
  local pools = split_csv(redis.call('HGET', nkey, 'pools'))
  for i = 1, #pools do pool_leave(base, node_id, pools[i]) end
  redis.call('ZREM', base .. K.hb, node_id)
  redis.call('HSET', nkey, 'state', 'offline', 'offline_at', now)
  local held = held_reservations(base, node_id)
  if #held > 0 then redis.call('ZADD', base .. K.lost, now, node_id) end
  return held
end
