-- cell-pools: pool membership and the AVAILABLE index of a node cell.
--   pool:<pair>     zset  online nodes with a free slot -> running/max (least loaded first)
--   poolall:<pair>  set   every online/draining node of the pool
--   pairs           hash  pair -> number of nodes in poolall:<pair> (absent when none)
--@include "cell-common"

-- Joins the pool's membership set (not the available index; see set_available).
local function pool_join(base, node_id, pair)
  if redis.call('SADD', base .. K.poolAll .. pair, node_id) == 1 then
    redis.call('HINCRBY', base .. K.pairs, pair, 1)
  end
end

-- Leaves the pool entirely. Counts follow the SREM result, so leaving twice is harmless.
local function pool_leave(base, node_id, pair)
  redis.call('ZREM', base .. K.pool .. pair, node_id)
  if redis.call('SREM', base .. K.poolAll .. pair, node_id) == 1 then
    if redis.call('HINCRBY', base .. K.pairs, pair, -1) <= 0 then
      redis.call('HDEL', base .. K.pairs, pair)
    end
  end
end

-- Puts the node into (with score running/max) or takes it out of the available index of
-- every pool in `pools`, depending on state and free slots.
local function set_available(base, node_id, pools, state, running, max)
  if state == 'online' and max > 0 and running < max then
    local score = running / max
    for i = 1, #pools do
      redis.call('ZADD', base .. K.pool .. pools[i], score, node_id)
    end
  else
    for i = 1, #pools do
      redis.call('ZREM', base .. K.pool .. pools[i], node_id)
    end
  end
end

-- Moves the node from the pools in `old` to the pools in `new` (arrays of "src:tgt").
local function sync_pools(base, node_id, old, new)
  local keep = {}
  for i = 1, #new do keep[new[i]] = true end
  for i = 1, #old do
    if not keep[old[i]] then pool_leave(base, node_id, old[i]) end
  end
  for i = 1, #new do pool_join(base, node_id, new[i]) end
end
