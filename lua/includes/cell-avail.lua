-- cell-avail: the AVAILABLE index of a node cell.
--   pool:<pair>  zset  online nodes with a free slot -> running/max (least loaded first)
--@include "cell-util"

-- Puts the node into (score running/max) or takes it out of the available index of every
-- pool in `pools`, depending on its state and free slots.
local function set_available(base, node_id, pools, state, running, max)
  local prefix = base .. K.pool
  if state == 'online' and max > 0 and running < max then
    local score = running / max
    for i = 1, #pools do
      redis.call('ZADD', prefix .. pools[i], score, node_id)
    end
  else
    for i = 1, #pools do
      redis.call('ZREM', prefix .. pools[i], node_id)
    end
  end
end
