--[[
  reap-stale-nodes: bounded sweep of nodes (online or draining) whose last heartbeat is
  older than now - timeout; each is taken offline exactly like node-offline (forced).

  Idempotent: a reaped node leaves the hb index, so a second sweep does not see it.

  KEYS[1]  heartbeat index      hb
  KEYS[2]  pool sizes           pairs
  KEYS[3]  reservation owners   resvnode
  KEYS[4]  reservation leases   resv
  (node hashes and reservation sets derive from the stale node ids, same hash tag)
  ARGV[1]  now (ms)
  ARGV[2]  heartbeat timeout (ms): stale when last_hb < now - timeout
  ARGV[3]  limit: at most this many nodes per call (1..1000)

  Returns  {{node id, {"<job>|<attempt>", ...}}, ...}  nodes taken offline with the
           reservations they held
           -8 BAD_ARGUMENT
]]
--@include "cell-offline"

local base = tagBase(KEYS[1])
local now, timeout, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if now == nil or timeout == nil or limit == nil or limit < 1 or limit > 1000 then return -8 end
local stale = redis.call('ZRANGE', KEYS[1], '-inf', string.format('(%.0f', now - timeout), 'BYSCORE', 'LIMIT', 0, limit)
local out = {}
for i = 1, #stale do
  out[#out + 1] = { stale[i], node_go_offline(base, stale[i], now) }
end
return out
