-- cell-ready: a node's readiness (protocol v1.7). 'warmup' and 'unavailable' nodes are live
-- (heartbeats, reservations, pool membership) but never in an available index, so no
-- selection can pick them; 'online' is the only selectable state (cell-avail).
--@include "cell-avail"

local MAX_REASON = 256

-- want 'ready': warmup/unavailable -> online. want 'unavailable' (node_unavailable):
-- online/warmup -> unavailable, with the reason. want 'not_ready' (a heartbeat's ready: false,
-- a level): online -> unavailable; a node still warming up stays 'warmup'. Draining and
-- offline nodes are left alone: draining ends only by registering again.
-- Returns 1 when the state changed, else 0.
local function set_readiness(base, nkey, node_id, state, want, reason, pools_csv, running, max, hot, tts)
  if state ~= 'online' and state ~= 'warmup' and state ~= 'unavailable' then return 0 end
  local to
  if want == 'ready' then
    to = 'online'
  elseif want == 'not_ready' and state == 'warmup' then
    return 0
  else
    to = 'unavailable'
  end
  if to == state then
    -- A repeated node_unavailable may carry a newer reason (nothing else changes).
    if to == 'unavailable' and reason ~= '' then
      redis.call('HSET', nkey, 'reason', string.sub(reason, 1, MAX_REASON))
    end
    return 0
  end
  redis.call('HSET', nkey, 'state', to, 'reason', to == 'unavailable' and string.sub(reason or '', 1, MAX_REASON) or '')
  set_available(base, node_id, split_csv(pools_csv), to, running, max, hot, tts)
  return 1
end
