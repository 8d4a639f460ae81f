--[[
  reap-leases: bounded sweep of expired slot reservations in one cell (a caller died
  between select-node and recording the job, or a confirmed job outlived its deadline +
  grace). Each one is released like release-slot (slot back, node re-indexed if online).

  Idempotent: a reaped reservation is gone; a second sweep does not see it.

  KEYS[1]  cell tag base
  ARGV[1]  now (ms): leases with expiry <= now are expired
  ARGV[2]  limit: at most this many per call (1..1000)

  Returns  {"<job>|<attempt>|<node>", ...}  reservations released by this call
           -8 BAD_ARGUMENT
]]
--@include "cell-release"

local base = KEYS[1]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if now == nil or limit == nil or limit < 1 or limit > 1000 then return -8 end
local due = redis.call('ZRANGE', base .. K.resv, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
local out = {}
for i = 1, #due do
  local rid = due[i]
  local node_id = redis.call('HGET', base .. K.resvNode, rid)
  if node_id then
    free_reservation(base, rid, node_id)
    out[#out + 1] = rid .. '|' .. node_id
  else
    redis.call('ZREM', base .. K.resv, rid) -- orphan entry: nothing else to undo
  end
end
return out
