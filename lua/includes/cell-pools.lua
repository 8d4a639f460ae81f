-- cell-pools: pool membership of a node cell.
--   poolall:<pair>  set   every online/draining node of the pool
--   pairs           hash  pair -> number of nodes in poolall:<pair> (absent when none)
--   pool:<pair>     zset  the available index (cell-avail)
--@include "cell-avail"

-- Joins the pool's membership set (the available index is set by set_available).
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

-- Moves the node from the pools in `old` to the pools in `new` (arrays of "src:tgt").
local function sync_pools(base, node_id, old, new)
  local keep = {}
  for i = 1, #new do keep[new[i]] = true end
  for i = 1, #old do
    if not keep[old[i]] then pool_leave(base, node_id, old[i]) end
  end
  for i = 1, #new do pool_join(base, node_id, new[i]) end
end
