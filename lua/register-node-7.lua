--[[
  register-node: registers (or re-registers) a compute node in its cell.

  Stores capabilities, state=online, epoch+1, owning instance; joins every directed pool
  asr x tts (src ~= tgt) when the node has BOTH 'asr' and 'nmt' services ('tts' optional;
  with it the node also joins each pool's TTS index, v1.9: field `ttscap`);
  leaves pools it no longer offers (a pool it left for MODEL_NOT_AVAILABLE is joined again:
  its capabilities are stated anew); puts it into the hb index. State: ARGV[12] ('online', or
  'warmup' for a node that registers with ready: false, protocol v1.7: in its pools but in
  no available index until node-readiness). A re-registration replaces 'draining' /
  'unavailable' with that state.

  Reconciliation of the reservations held from an earlier connection (protocol v1.4):
   - the node was offline (its connection closed or it was reaped): all of them are `lost`
     (their failover was decided then; returning them again makes the follow-up idempotent);
   - else (the earlier connection is still registered, e.g. half-open, or its gateway died)
     with a job list (ARGV[10] = '1'): listed jobs are kept, the rest are `lost`;
     without a list: all of them are `unconfirmed` (the caller fails over whichever the node
     has not answered after a grace period).
  Nothing is released here: the caller's follow-up (job-fail + release-slot) does, per job.

  Idempotent under re-send by registration id: when ARGV[3] equals the stored reg_id the
  registration already happened; the current epoch/pools and the reconciliation are returned.

  KEYS[1]  node hash            node:<id>
  KEYS[2]  node's reservations  njobs:<id>
  KEYS[3]  heartbeat index      hb
  KEYS[4]  cell's node set      nodes
  KEYS[5]  pool sizes           pairs
  KEYS[6]  reservation owners   resvnode
  KEYS[7]  lost nodes           lost
  (pool keys derive from the capabilities and share the cell's hash tag)
  ARGV[1]  node id
  ARGV[2]  instance id (gateway owning the node's socket)
  ARGV[3]  registration id, unique per connection attempt ('' = not idempotent)
  ARGV[4]  now (ms)
  ARGV[5]  max concurrent jobs (integer 1..10000)
  ARGV[6]  services, comma list (asr,nmt,tts)
  ARGV[7]  ASR languages, comma list
  ARGV[8]  TTS (target) languages, comma list
  ARGV[9]  caps: JSON string (hardware, version, platform), stored as is
  ARGV[10] '1' when ARGV[11] is the node's job list, '' when it sent none
  ARGV[11] job ids the node is working on, comma list (at most 4096)
  ARGV[12] initial state: 'online' | 'warmup'

  Returns  {epoch, pools, previous instance, previous epoch, lost, unconfirmed}
           pools = comma list of "src:tgt" joined ('' when none); previous instance/epoch =
           the registration this one replaces while it was still live ('' / 0 otherwise);
           lost / unconfirmed = lists of "<job>|<attempt>"
           -7 NODE_OFFLINE  re-send of a registration whose connection already went offline
           -8 BAD_ARGUMENT  invalid id, number or list
]]
--@include "cell-caps"
--@include "cell-pools"
--@include "cell-held"

local base = tagBase(KEYS[1])
local node_id, instance, reg_id = ARGV[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[4])
if not valid_id(node_id) or instance == '' or now == nil then return -8 end
local max, pools, tts = parse_caps(5)
if max == nil then return -8 end
local initial = ARGV[12]
if initial ~= 'online' and initial ~= 'warmup' then return -8 end
local listed = nil
if ARGV[10] == '1' then
  listed = listed_set(ARGV[11])
  if listed == nil then return -8 end
end

local nkey = KEYS[1]
local old = redis.call('HMGET', nkey, 'state', 'epoch', 'pools', 'reg_id', 'instance')
local resend = reg_id ~= '' and old[4] == reg_id
if resend and old[1] == 'offline' then return -7 end

-- Split the reservations the node holds (before this registration).
local held = held_reservations(base, node_id)
local lost, unconfirmed = {}, {}
local was_live = old[1] ~= false and old[1] ~= 'offline'
for i = 1, #held do
  local rid = held[i]
  if not was_live then
    lost[#lost + 1] = rid
  elseif listed == nil then
    unconfirmed[#unconfirmed + 1] = rid
  elseif not listed[rid_job(rid)] then
    lost[#lost + 1] = rid
  end
end

if resend then
  return { tonumber(old[2]), old[3] or '', '', 0, lost, unconfirmed }
end

sync_pools(base, node_id, split_csv(old[3]), pools, tts)

local epoch = redis.call('HINCRBY', nkey, 'epoch', 1)
local running = redis.call('SCARD', KEYS[2])
local pools_csv = table.concat(pools, ',')
redis.call('HSET', nkey,
  'node_id', node_id, 'state', initial, 'reason', '', 'mlost', '', 'instance', instance, 'reg_id', reg_id,
  'max', max, 'running', running, 'services', ARGV[6], 'asr', ARGV[7], 'tts', ARGV[8],
  'pools', pools_csv, 'caps', ARGV[9] or '{}', 'last_hb', now, 'registered_at', now,
  'hot', '', 'ttscap', tts and '1' or '')
-- Load is unknown until the first heartbeat: a (re-)registered node starts cool.
set_available(base, node_id, pools, initial, running, max, false, tts)
redis.call('ZADD', KEYS[3], now, node_id)
redis.call('SADD', KEYS[4], node_id)
-- Its leftover reservations are handed to this caller now; the sweep must not repeat that.
redis.call('ZREM', KEYS[7], node_id)
local prev_instance, prev_epoch = '', 0
if was_live then prev_instance, prev_epoch = old[5] or '', tonumber(old[2]) or 0 end
return { epoch, pools_csv, prev_instance, prev_epoch, lost, unconfirmed }
