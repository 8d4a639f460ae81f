-- cell-pools: pool membership of a node cell.
--   poolall:<pair>  set   every online/draining node of the pool
--   pairs           hash  pair -> number of nodes in poolall:<pair> (absent when none)
--   pool:<pair>     zset  the available index (cell-avail)
--   ttsall:<pair>   set   the members of poolall:<pair> that have the 'tts' service (v1.9)
--   ttspool:<pair>  zset  their available index (cell-avail)
--   twall:<a:b>     set   the nodes in both poolall:a:b and poolall:b:a, a < b (v1.11, two-way)
--   twpool:<a:b>    zset  their available index (cell-avail)
--@include "cell-avail"

-- The canonical name of the two-way pair of "src:tgt": its languages in byte order (keys.ts
-- twoWayPair); nil for a malformed pair.
local function two_way_pair(pair)
  local a, b = string.match(pair, '^([^:]+):(.+)$')
  if not a then return nil end
  if a < b then return a .. ':' .. b end
  return b .. ':' .. a
end

-- Joins the pool's membership set (the available index is set by set_available). `tts`: the
-- node has the 'tts' service; a node that lost it (re-registered without) leaves the TTS sets.
local function pool_join(base, node_id, pair, tts)
  if redis.call('SADD', base .. K.poolAll .. pair, node_id) == 1 then
    redis.call('HINCRBY', base .. K.pairs, pair, 1)
  end
  -- Two-way (v1.11): the node serves both directions once it is in the reverse pool too.
  local src, tgt = string.match(pair, '^([^:]+):(.+)$')
  if src and redis.call('SISMEMBER', base .. K.poolAll .. tgt .. ':' .. src, node_id) == 1 then
    redis.call('SADD', base .. K.twoWayAll .. two_way_pair(pair), node_id)
  end
  if tts then
    redis.call('SADD', base .. K.ttsAll .. pair, node_id)
  elseif redis.call('SREM', base .. K.ttsAll .. pair, node_id) == 1 then
    redis.call('ZREM', base .. K.ttsPool .. pair, node_id)
  end
end

-- Leaves the pool entirely. Counts follow the SREM result, so leaving twice is harmless.
local function pool_leave(base, node_id, pair)
  redis.call('ZREM', base .. K.pool .. pair, node_id)
  -- Leaving either direction ends two-way service for the pair.
  local tw = two_way_pair(pair)
  if tw and redis.call('SREM', base .. K.twoWayAll .. tw, node_id) == 1 then
    redis.call('ZREM', base .. K.twoWayPool .. tw, node_id)
  end
  if redis.call('SREM', base .. K.ttsAll .. pair, node_id) == 1 then
    redis.call('ZREM', base .. K.ttsPool .. pair, node_id)
  end
  if redis.call('SREM', base .. K.poolAll .. pair, node_id) == 1 then
    if redis.call('HINCRBY', base .. K.pairs, pair, -1) <= 0 then
      redis.call('HDEL', base .. K.pairs, pair)
    end
  end
end

-- Moves the node from the pools in `old` to the pools in `new` (arrays of "src:tgt").
local function sync_pools(base, node_id, old, new, tts)
  local keep = {}
  for i = 1, #new do keep[new[i]] = true end
  for i = 1, #old do
    if not keep[old[i]] then pool_leave(base, node_id, old[i]) end
  end
  for i = 1, #new do pool_join(base, node_id, new[i], tts) end
end
