-- cell-slots: slot reservations and taking a node offline; the one copy of this logic.
--   resv          zset "<job>|<attempt>" -> lease expiry ms
--   resvnode      hash "<job>|<attempt>" -> node id
--   njobs:<id>    set  "<job>|<attempt>" held by the node; node.running == SCARD(njobs:<id>)
--@include "cell-pools"

-- Frees reservation `rid` held by `node_id` (caller checked resvnode[rid] == node_id):
-- running-1 and, if the node is online, back into every pool's available index.
local function free_reservation(base, rid, node_id)
  redis.call('HDEL', base .. K.resvNode, rid)
  redis.call('ZREM', base .. K.resv, rid)
  if redis.call('SREM', base .. K.nodeJobs .. node_id, rid) == 0 then return end
  local nkey = base .. K.node .. node_id
  local running = redis.call('HINCRBY', nkey, 'running', -1)
  if running < 0 then
    running = 0
    redis.call('HSET', nkey, 'running', 0)
  end
  local f = redis.call('HMGET', nkey, 'state', 'max', 'pools')
  set_available(base, node_id, split_csv(f[3]), f[1], running, tonumber(f[2]) or 0)
end

-- Takes a node offline: leaves every pool and the heartbeat index, drops all its
-- reservations and returns their ids ("<job>|<attempt>", sorted) for failover.
-- The loop is bounded by the node's reservations (<= MAX_SLOTS).
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
