--[[
  set-draining: a draining node keeps its running jobs (stays in poolall/pairs and the hb
  index, so it is still reaped if it dies) but leaves every available index, so it gets no
  new job; release-slot does not put it back. ARGV[3] = '0' undoes it (back to the state it
  had before, 'online' / 'warmup' / 'unavailable', and into the available indexes where it
  is online with a free slot). Re-registering also ends draining.

  Idempotent: setting the state it already has returns 0.

  KEYS[1]  node hash   node:<id>   (its pools derive from it, same hash tag)
  ARGV[1]  node id
  ARGV[2]  epoch of the caller's registration ('' = any)
  ARGV[3]  '1' drain | '0' resume

  Returns  1 changed | 0 already in that state
           -3 NODE_MISMATCH  epoch given and not the current one
           -7 NODE_OFFLINE   unknown or offline node
]]
--@include "cell-avail"

local base = tagBase(KEYS[1])
local node_id = ARGV[1]
local nkey = KEYS[1]
local cur = redis.call('HMGET', nkey, 'state', 'epoch', 'pools', 'running', 'max', 'pre_drain', 'hot', 'ttscap')
if cur[1] == false or cur[1] == 'offline' then return -7 end
if ARGV[2] ~= '' and tonumber(cur[2]) ~= tonumber(ARGV[2]) then return -3 end
local want
if ARGV[3] == '0' then
  if cur[1] ~= 'draining' then return 0 end
  want = cur[6] or 'online'
  if want ~= 'warmup' and want ~= 'unavailable' then want = 'online' end
else
  if cur[1] == 'draining' then return 0 end
  want = 'draining'
  -- Readiness survives a drain that is undone (protocol v1.7 states).
  redis.call('HSET', nkey, 'pre_drain', cur[1])
end
redis.call('HSET', nkey, 'state', want)
set_available(base, node_id, split_csv(cur[3]), want, tonumber(cur[4]) or 0, tonumber(cur[5]) or 0,
  cur[7] == '1', cur[8] == '1')
return 1
