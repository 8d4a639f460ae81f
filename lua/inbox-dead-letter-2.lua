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

  A batch entry (field `b`, packages/cluster/src/inbox.ts frameBatch) is split: one dead
  letter per envelope, each with field `m`, all or none.

  Returns: (last) dlq entry id; 0 when the entry was already gone; 'full' when the DLQ is at
           capacity
]]
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
local fields = e[1][2]
-- A batch entry (`b`: encoded envelopes, each after its 4-byte big-endian length, at most 64;
-- inbox.ts frameBatch) becomes one dead letter per envelope (`m`), so replay and the CLI see
-- single envelopes, as for any other entry. A malformed batch is kept whole.
local function splitBatch(b)
  local items, at = {}, 1
  while at <= #b do
    if at + 3 > #b or #items == 64 then return nil end
    local b1, b2, b3, b4 = string.byte(b, at, at + 3)
    local len = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    if len == 0 or at + 3 + len > #b then return nil end
    items[#items + 1] = string.sub(b, at + 4, at + 3 + len)
    at = at + 4 + len
  end
  if #items == 0 then return nil end
  return items
end
local batch = nil
for i = 1, #fields - 1, 2 do
  if fields[i] == 'b' then batch = splitBatch(fields[i + 1]) end
end
if redis.call('XLEN', KEYS[2]) + (batch and #batch or 1) > tonumber(ARGV[6]) then
  if ARGV[7] and ARGV[7] ~= '' then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[7], 0, ARGV[2], 'JUSTID')
  end
  return 'full'
end
local meta = { KEYS[2], '*', 'reason', ARGV[3], 'origin', KEYS[1],
  'origin_id', ARGV[2], 'deliveries', ARGV[4], 'ts', ARGV[5] }
local id
if batch then
  for j = 1, #batch do
    local args = { unpack(meta) }
    args[#args + 1] = 'm'
    args[#args + 1] = batch[j]
    id = redis.call('XADD', unpack(args))
  end
else
  local args = { unpack(meta) }
  for i = 1, math.min(#fields, 64) do args[#args + 1] = fields[i] end
  id = redis.call('XADD', unpack(args))
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return id
