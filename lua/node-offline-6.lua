--[[
  node-offline: takes a node offline (its connection closed, or forced): leaves every pool
  and the available/heartbeat indexes, state=offline, and returns the reservations it holds
  for failover. They stay held until the caller's follow-up (job-fail + release-slot) frees
  each one, so a re-sent call returns them again, and reap-stale-nodes hands them out again
  when the caller died before finishing (the node is listed in `lost` meanwhile).

  Guarded by the registration epoch: an old socket closing after the node re-registered
  (new epoch, maybe on another instance) must not take the new registration down.
  Idempotent: a node already offline returns what it still holds; an unknown node {}.

  KEYS[1]  node hash            node:<id>
  KEYS[2]  node's reservations  njobs:<id>
  KEYS[3]  heartbeat index      hb
  KEYS[4]  pool sizes           pairs
  KEYS[5]  reservation owners   resvnode
  KEYS[6]  lost nodes           lost
  ARGV[1]  node id
  ARGV[2]  epoch of the closing registration ('' = force, any epoch)
  ARGV[3]  now (ms), stored as offline_at

  Returns  {"<job>|<attempt>", ...}  reservations the node holds (sorted; may be empty)
           -3 NODE_MISMATCH  epoch given and not the current one
           -8 BAD_ARGUMENT
]]
--@include "cell-offline"

local base = tagBase(KEYS[1])
local node_id = ARGV[1]
local now = tonumber(ARGV[3])
if now == nil or (ARGV[2] ~= '' and tonumber(ARGV[2]) == nil) then return -8 end
local cur = redis.call('HMGET', KEYS[1], 'state', 'epoch')
if cur[1] == false then return {} end
if ARGV[2] ~= '' and tonumber(cur[2]) ~= tonumber(ARGV[2]) then return -3 end
if cur[1] == 'offline' then return held_reservations(base, node_id) end
return node_go_offline(base, node_id, now)
