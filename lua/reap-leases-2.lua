--[[
  reap-leases: bounded sweep of expired slot reservations in one cell (a caller died
  between select-node and recording the job, or a confirmed job outlived its deadline +
  grace). Each one is released like release-slot (slot back, node re-indexed if online).

  Idempotent: a reaped reservation is gone; a second sweep does not see it.

  KEYS[1]  reservation leases   resv
  KEYS[2]  reservation owners   resvnode
  (node hashes and reservation sets derive from the owners, same hash tag)
  ARGV[1]  now (ms): leases with expiry <= now are expired
  ARGV[2]  limit: at most this many per call (1..1000)

  Returns  {"<job>|<attempt>|<node>", ...}  reservations released by this call
           -8 BAD_ARGUMENT
]]
--@include "cell-release"

local base = tagBase(KEYS[1])
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if now == nil or limit == nil or limit < 1 or limit > 1000 then return -8 end
local due = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
local out = {}
for i = 1, #due do
  local rid = due[i]
  local node_id = redis.call('HGET', KEYS[2], rid)
  if node_id then
    free_reservation(base, rid, node_id)
    out[#out + 1] = rid .. '|' .. node_id
  else
    redis.call('ZREM', KEYS[1], rid) -- orphan entry: nothing else to undo
  end
end
return out
