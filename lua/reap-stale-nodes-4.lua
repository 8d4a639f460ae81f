--[[
  reap-stale-nodes: bounded sweep of one cell for
   - nodes (online or draining) whose last heartbeat is older than now - timeout: each is
     taken offline exactly like node-offline (forced) and its reservations returned;
   - offline nodes in `lost` for at least ARGV[4] ms that still hold reservations: whoever
     took them offline did not finish failing them over (it died), so they are returned
     again; a node holding none leaves `lost`.

  Idempotent: a reaped node leaves the hb index; a reservation is returned until the
  caller's follow-up (job-fail + release-slot) frees it, at most once per ARGV[4] ms.

  KEYS[1]  heartbeat index      hb
  KEYS[2]  pool sizes           pairs
  KEYS[3]  reservation owners   resvnode
  KEYS[4]  lost nodes           lost
  (node hashes and reservation sets derive from the node ids, same hash tag)
  ARGV[1]  now (ms)
  ARGV[2]  heartbeat timeout (ms): stale when last_hb < now - timeout
  ARGV[3]  limit: at most this many nodes of each kind per call (1..1000)
  ARGV[4]  grace (ms) before the reservations of a lost node are handed out again

  Returns  {{node id, {"<job>|<attempt>", ...}, 'stale' | 'lost'}, ...}
           -8 BAD_ARGUMENT
]]
--@include "cell-offline"

local base = tagBase(KEYS[1])
local now, timeout, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local grace = tonumber(ARGV[4])
if now == nil or timeout == nil or grace == nil or limit == nil or limit < 1 or limit > 1000 then return -8 end
local out = {}
local stale = redis.call('ZRANGE', KEYS[1], '-inf', string.format('(%.0f', now - timeout), 'BYSCORE', 'LIMIT', 0, limit)
for i = 1, #stale do
  out[#out + 1] = { stale[i], node_go_offline(base, stale[i], now), 'stale' }
end
local due = redis.call('ZRANGE', KEYS[4], '-inf', string.format('%.0f', now - grace), 'BYSCORE', 'LIMIT', 0, limit)
for i = 1, #due do
  local held = {}
  if redis.call('HGET', base .. K.node .. due[i], 'state') == 'offline' then
    held = held_reservations(base, due[i])
  end
  if #held == 0 then
    redis.call('ZREM', KEYS[4], due[i])
  else
    redis.call('ZADD', KEYS[4], now, due[i])
    out[#out + 1] = { due[i], held, 'lost' }
  end
end
return out
