--[[
  node-readiness: the node says it can take jobs (node_ready) or cannot for now
  (node_unavailable), protocol v1.7. 'ready' moves a warmup/unavailable node to online (into
  the available index of every pool where it has a free slot); 'unavailable' moves an online
  or warming-up node out of every available index (its reservations and pool membership stay: the jobs it
  holds are answered as before). Draining nodes stay draining.

  Idempotent: asking for the state the node is in returns 0 (a newer reason is stored).

  KEYS[1]  node hash   node:<id>   (its pools derive from it, same hash tag)
  ARGV[1]  node id
  ARGV[2]  epoch the connection registered with
  ARGV[3]  instance id owning the connection
  ARGV[4]  'ready' | 'unavailable'
  ARGV[5]  reason ('' = none; cut to 256 bytes)

  Returns  1 changed | 0 already in that state (or draining)
           -7 NODE_OFFLINE  unknown node, offline, or epoch/instance is not the current
                            registration (the gateway asks the node to re-register)
           -8 BAD_ARGUMENT
]]
--@include "cell-ready"

local base = tagBase(KEYS[1])
local node_id = ARGV[1]
local epoch = tonumber(ARGV[2])
local want = ARGV[4]
if not valid_id(node_id) or epoch == nil or (want ~= 'ready' and want ~= 'unavailable') then return -8 end

local nkey = KEYS[1]
local cur = redis.call('HMGET', nkey, 'state', 'epoch', 'instance', 'pools', 'running', 'max', 'hot', 'ttscap')
if cur[1] == false or cur[1] == 'offline' or tonumber(cur[2]) ~= epoch or cur[3] ~= ARGV[3] then
  return -7
end
return set_readiness(base, nkey, node_id, cur[1], want, ARGV[5] or '', cur[4] or '',
  tonumber(cur[5]) or 0, tonumber(cur[6]) or 0, cur[7] == '1', cur[8] == '1')
