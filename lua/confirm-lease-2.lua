--[[
  confirm-lease: extends a slot reservation once its job is recorded (new expiry = job
  deadline + grace), so reap-leases does not reclaim it while the job may still run.

  Idempotent: the expiry only moves forward (ZADD XX GT); confirming twice is harmless.

  KEYS[1]  reservation owners   resvnode
  KEYS[2]  reservation leases   resv
  ARGV[1]  node id expected to hold the reservation
  ARGV[2]  job id     ARGV[3]  attempt
  ARGV[4]  new lease expiry (ms, absolute)

  Returns  1
           -3 NODE_MISMATCH  another node holds this (job, attempt)
           -4 NOT_FOUND      no such reservation (expired and reaped, released, or never made)
           -8 BAD_ARGUMENT
]]
local expiry = tonumber(ARGV[4])
if expiry == nil or tonumber(ARGV[3]) == nil then return -8 end
local rid = ARGV[2] .. '|' .. ARGV[3]
local held = redis.call('HGET', KEYS[1], rid)
if not held then return -4 end
if held ~= ARGV[1] then return -3 end
redis.call('ZADD', KEYS[2], 'XX', 'GT', expiry, rid)
return 1
