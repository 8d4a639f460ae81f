--[[
  select-create: select-node then job-create in one step, for a single Redis (standalone or
  Sentinel) with one node cell, where the node cell's keys and the session shard's keys live
  on the same server. One script and one round trip instead of two on every new utterance
  (issue 14); Redis Cluster keeps the two scripts (their keys hash to different slots).

  Before reserving anything it checks what job-create would refuse or answer 'exists' for,
  so a refused create leaves no reservation behind and a re-sent call reserves nothing new:
  a re-send answers 'exists' with the job's state, attempt, node and that node's instance,
  which is what the caller needs to redo its follow-up (send the assignment again, or hand a
  waiting job to the failover queue).

  KEYS[1]  select-node KEYS[1]: available index (pool, TTS or two-way)
  KEYS[2]  select-node KEYS[2]: pool sizes       KEYS[3]  select-node KEYS[3]: resv
  KEYS[4]  select-node KEYS[4]: resvnode         KEYS[5]  select-node KEYS[5]: TTS/two-way members
  KEYS[6]  job-create KEYS[1]: session hash      KEYS[7]  job-create KEYS[2]: job hash
  KEYS[8]  job-create KEYS[3]: deadlines         KEYS[9]  job-create KEYS[4]: events
  KEYS[10]  job-create KEYS[5]: jobcounts
  ARGV[1]  src lang          ARGV[2]  tgt lang      ARGV[3]  job id      ARGV[4]  attempt (1)
  ARGV[5]  affinity node id or ''                   ARGV[6]  excluded node ids (comma list)
  ARGV[7]  now ms            ARGV[8]  lease ms      ARGV[9]  '1' TTS, 'tw' two-way, else ''
  ARGV[10]  cool nodes only: must be ''
  (arguments 11 to 33 are job-create's 1 to 23, in order)
  ARGV[11]  job id           ARGV[12]  session id   ARGV[13]  utterance index
  ARGV[14]  tenant           ARGV[15]  src lang     ARGV[16]  tgt lang
  ARGV[17]  audio format     ARGV[18]  sample rate  ARGV[19]  features (JSON)
  ARGV[20]  audio (bytes)    ARGV[21]  last chunk seq   ARGV[22]  finalize reason
  ARGV[23]  now ms           ARGV[24]  overall deadline ms
  ARGV[25]  owner instance   ARGV[26]  owner connection id
  ARGV[27]  ignored (node: from the selection)      ARGV[28]  ignored (node's instance)
  ARGV[29]  attempt deadline ms   ARGV[30]  session ttl ms
  ARGV[31]  assignment check ms   ARGV[32]  waiting check ms
  ARGV[33]  context (JSON) or ''

  Returns: { 'created' | 'exists', state, attempt, node, node's instance, selection }
           selection = 0 a node was reserved (or, for 'exists', nothing was selected),
           -1 NO_POOL_FOR_LANG_PAIR / -2 NO_AVAILABLE_NODE: the job was created waiting
  Errors:  -4 NOT_FOUND (no such session)  -11 SESSION_MOVED  -8 BAD_ARGUMENT
           (select-node's -1 / -2 become the selection above; its -20 ONLY_HOT_NODES cannot
           happen here, ARGV[10] being '')
]]
--@include "select-reserve"
--@include "create-job"

local sel_keys = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5] }
local job_keys = { KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10] }
local sel_argv, job_argv = {}, {}
for i = 1, 10 do sel_argv[i] = ARGV[i] end
for i = 1, 23 do job_argv[i] = ARGV[10 + i] end

-- job-create's refusals and its re-send answer, checked before any reservation is made.
local sess = redis.call('HMGET', job_keys[1], 'owner', 'conn')
if sess[1] == false then return -4 end
local existing = redis.call('HMGET', job_keys[2], F.state, F.attempt, F.node, F.nodeInstance)
if existing[1] then
  return { 'exists', existing[1], tonumber(existing[2]), existing[3] or '', existing[4] or '', 0 }
end
if sess[1] ~= job_argv[15] or sess[2] ~= job_argv[16] then return -11 end

local picked = selectReserve(sel_keys, sel_argv)
local node, instance, selection = '', '', 0
if type(picked) == 'table' then
  node, instance = picked[1], picked[2]
elseif picked == -1 or picked == -2 then
  selection = picked
else
  return picked -- -8 BAD_ARGUMENT (-20 cannot happen: ARGV[10] is '')
end
job_argv[17], job_argv[18] = node, instance
local r = createJob(job_keys, job_argv)
return { r[1], r[2], r[3], r[4], instance, selection }
