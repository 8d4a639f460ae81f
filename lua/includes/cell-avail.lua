-- cell-avail: the AVAILABLE indexes of a node cell (protocol v1.9 for the bands and TTS).
--   pool:<pair>     zset  online nodes with a free slot -> score (least loaded first)
--   ttspool:<pair>  zset  the same for the nodes of the pair that have the 'tts' service
--   twpool:<a:b>    zset  the same for the nodes serving both a:b and b:a (twall, v1.11)
-- Score = running/max (0 <= . < 1), plus 1 while the node is hot (its heartbeat's resource
-- load is above LINGUA_NODE_HOT_THRESHOLD): every cool node sorts before every hot one, so a
-- plain ZRANGE from 0 skips hot nodes while a cool one has room, with no scan.
--@include "cell-util"

-- The canonical name of the two-way pair of "src:tgt": its languages in byte order (keys.ts
-- twoWayPair); nil for a malformed pair.
local function two_way_pair(pair)
  local a, b = string.match(pair, '^([^:]+):(.+)$')
  if not a then return nil end
  if a < b then return a .. ':' .. b end
  return b .. ':' .. a
end

-- Sets the node's score in (or takes it out of) the two-way indexes of `pools` whose pair it
-- serves both ways (twall). Each two-way pair once, even when both directions are listed.
local function set_two_way(base, node_id, pools, score)
  local seen = {}
  for i = 1, #pools do
    local tw = two_way_pair(pools[i])
    if tw and not seen[tw] then
      seen[tw] = true
      if redis.call('SISMEMBER', base .. K.twoWayAll .. tw, node_id) == 1 then
        if score then
          redis.call('ZADD', base .. K.twoWayPool .. tw, score, node_id)
        else
          redis.call('ZREM', base .. K.twoWayPool .. tw, node_id)
        end
      end
    end
  end
end

-- Puts the node into (with its score) or takes it out of the available indexes of every pool
-- in `pools`, depending on its state and free slots. `hot`, `tts`: the node hash's `hot` and
-- `ttscap` fields are '1' (callers read them with the fields they already read).
local function set_available(base, node_id, pools, state, running, max, hot, tts)
  local prefix, tprefix = base .. K.pool, base .. K.ttsPool
  if state == 'online' and max > 0 and running < max then
    local score = running / max
    if hot then score = score + 1 end
    for i = 1, #pools do
      redis.call('ZADD', prefix .. pools[i], score, node_id)
      if tts then redis.call('ZADD', tprefix .. pools[i], score, node_id) end
    end
    set_two_way(base, node_id, pools, score)
  else
    for i = 1, #pools do
      redis.call('ZREM', prefix .. pools[i], node_id)
      if tts then redis.call('ZREM', tprefix .. pools[i], node_id) end
    end
    set_two_way(base, node_id, pools, nil)
  end
end
