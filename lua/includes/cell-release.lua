-- cell-release: freeing one slot reservation (release-slot, reap-leases).
--   resv          zset "<job>|<attempt>" -> lease expiry ms
--   resvnode      hash "<job>|<attempt>" -> node id
--   njobs:<id>    set  "<job>|<attempt>" held by the node; node.running == SCARD(njobs:<id>)
--@include "cell-avail"

-- Frees reservation `rid` held by `node_id` (caller checked resvnode[rid] == node_id):
-- running-1 and, if the node is online, back into every pool's available index.
local function free_reservation(base, rid, node_id)
  redis.call('HDEL', base .. K.resvNode, rid)
  redis.call('ZREM', base .. K.resv, rid)
  if redis.call('SREM', base .. K.nodeJobs .. node_id, rid) == 0 then return end
  local nkey = base .. K.node .. node_id
  local f = redis.call('HMGET', nkey, 'running', 'state', 'max', 'pools', 'hot', 'ttscap')
  local running = (tonumber(f[1]) or 1) - 1
  if running < 0 then running = 0 end
  redis.call('HSET', nkey, 'running', running)
  set_available(base, node_id, split_csv(f[4]), f[2], running, tonumber(f[3]) or 0, f[5] == '1', f[6] == '1')
end
