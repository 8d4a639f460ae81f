-- cell-avail: the AVAILABLE indexes of a node cell (protocol v1.9 for the bands and TTS).
--   pool:<pair>     zset  online nodes with a free slot -> score (least loaded first)
--   ttspool:<pair>  zset  the same for the nodes of the pair that have the 'tts' service
-- Score = running/max (0 <= . < 1), plus 1 while the node is hot (its heartbeat's resource
-- load is above LINGUA_NODE_HOT_THRESHOLD): every cool node sorts before every hot one, so a
-- plain ZRANGE from 0 skips hot nodes while a cool one has room, with no scan.
--@include "cell-util"

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
  else
    for i = 1, #pools do
      redis.call('ZREM', prefix .. pools[i], node_id)
      if tts then redis.call('ZREM', tprefix .. pools[i], node_id) end
    end
  end
end
