-- cell-offline: taking a node offline (node-offline, reap-stale-nodes); the one copy.
--@include "cell-pools"

-- Leaves every pool and the heartbeat index, drops all the node's reservations and
-- returns their ids ("<job>|<attempt>", sorted) for failover. The loop is bounded by the
-- node's reservations (<= its max slots, <= 10000).
local function node_go_offline(base, node_id, now)
  local nkey = base .. K.node .. node_id
  local pools = split_csv(redis.call('HGET', nkey, 'pools'))
  for i = 1, #pools do pool_leave(base, node_id, pools[i]) end
  redis.call('ZREM', base .. K.hb, node_id)
  local jkey = base .. K.nodeJobs .. node_id
  local rids = redis.call('SMEMBERS', jkey)
  table.sort(rids)
  local released = {}
  for i = 1, #rids do
    local rid = rids[i]
    if redis.call('HGET', base .. K.resvNode, rid) == node_id then
      redis.call('HDEL', base .. K.resvNode, rid)
      redis.call('ZREM', base .. K.resv, rid)
      released[#released + 1] = rid
    end
  end
  redis.call('DEL', jkey)
  redis.call('HSET', nkey, 'state', 'offline', 'running', 0, 'offline_at', now)
  return released
end
