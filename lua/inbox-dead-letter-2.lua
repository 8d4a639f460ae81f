--[[
  Moves one inbox entry to its instance's dead-letter stream with the reason, atomically
  (both keys share the instance hash tag): XADD to the DLQ, then XACK + XDEL from the inbox.
  Idempotent: an entry that is no longer in the inbox is not dead-lettered twice.

  The DLQ is never trimmed here: dead letters leave only by replay, delete or an explicit
  retention sweep. When the DLQ already holds ARGV[6] entries the move is refused and the
  entry stays pending in the inbox (nothing is dropped); its idle time is reset (XCLAIM JUSTID,
  which does not count a delivery) so the reclaimer turns to other entries and asks again
  after the claim interval. The caller counts and logs the refusal.

  KEYS[1]  inbox stream   KEYS[2] dlq stream
  ARGV[1]  consumer group   ARGV[2] entry id   ARGV[3] reason   ARGV[4] delivery count
  ARGV[5]  now ms   ARGV[6] dlq capacity (entries)   ARGV[7] consumer name (for the refusal)

  Returns: dlq entry id; 0 when the entry was already gone; 'full' when the DLQ is at capacity
]]
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[6]) then
  if ARGV[7] and ARGV[7] ~= '' then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[7], 0, ARGV[2], 'JUSTID')
  end
  return 'full'
end
local fields = e[1][2]
local args = { KEYS[2], '*', 'reason', ARGV[3], 'origin', KEYS[1],
  'origin_id', ARGV[2], 'deliveries', ARGV[4], 'ts', ARGV[5] }
for i = 1, math.min(#fields, 64) do args[#args + 1] = fields[i] end
local id = redis.call('XADD', unpack(args))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return id
