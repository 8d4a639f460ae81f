-- cell-avail: the AVAILABLE indexes of a node cell (protocol v1.9 for the bands and TTS).
--   pool:<pair>     zset  online nodes with a free slot -> score (least loaded first)
--   ttspool:<pair>  zset  the same for the nodes of the pair that have the 'tts' service
--   twpool:<a:b>    zset  the same for the nodes serving both a:b and b:a (twall, v1.11)
-- Score = running/max (0 <= . < 1), plus 1 while the node is hot (its heartbeat's resource
-- load is above LINGUA_NODE_HOT_THRESHOLD): every cool node sorts before every hot one, so a
-- plain ZRANGE from 0 skips hot nodes while a cool one has room, with no scan.
--@include "cell-util"

-- Sets the node's score in (or takes it out of) the two-way index of each pair it serves both
-- ways. `pools` is the node's whole pool list (its `pools` field), so no SISMEMBER twall is
-- needed: pool_join/pool_leave keep twall equal to "both directions in pools" (cell-pools).
-- Each pair once, under its byte-order name a:b (keys.ts twoWayPair).
local function set_two_way(base, node_id, pools, score)
  local have = {}
  for i = 1, #pools do have[pools[i]] = true end
  for i = 1, #pools do
    local a, b = string.match(pools[i], '^([^:]+):(.+)$')
    if a and a < b and have[b .. ':' .. a] then
      have[b .. ':' .. a] = false -- a duplicate a:b in `pools` does not repeat the call
      if score then
        redis.call('ZADD', base .. K.twoWayPool .. pools[i], score, node_id)
      else
        redis.call('ZREM', base .. K.twoWayPool .. pools[i], node_id)
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
