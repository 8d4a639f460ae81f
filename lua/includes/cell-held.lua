-- cell-held: the reservations a node holds, and reconciling them with the jobs the node says
-- it is working on (protocol v1.4 `job_ids`).
--@include "cell-util"

local MAX_LISTED = 4096 -- job ids one node may list (protocol: node_register/node_heartbeat.job_ids)

-- The node's reservation ids ("<job>|<attempt>") that resvnode still assigns to it, sorted.
-- Entries of njobs:<id> that are not (released elsewhere) are dropped. Bounded by the set
-- (<= the node's slots).
local function held_reservations(base, node_id)
  local jkey = base .. K.nodeJobs .. node_id
  local rids = redis.call('SMEMBERS', jkey)
  table.sort(rids)
  local held = {}
  for i = 1, #rids do
    if redis.call('HGET', base .. K.resvNode, rids[i]) == node_id then
      held[#held + 1] = rids[i]
    else
      redis.call('SREM', jkey, rids[i])
    end
  end
  return held
end

-- The job id of a reservation id.
local function rid_job(rid)
  return string.match(rid, '^(.*)|[^|]*$') or rid
end

-- A comma list of job ids -> set; nil when there are more than MAX_LISTED.
local function listed_set(csv)
  local list = split_csv(csv, MAX_LISTED)
  if list == nil then return nil end
  local set = {}
  for i = 1, #list do set[list[i]] = true end
  return set
end
