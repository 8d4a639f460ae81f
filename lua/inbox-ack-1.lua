--[[
  Acknowledges delivered inbox entries and deletes them, so the inbox only holds what is
  still pending (it is never trimmed by length: a pending entry must not vanish).

  KEYS[1]  inbox stream
  ARGV[1]  consumer group   ARGV[2..] entry ids (at most 1000 per call)

  Returns: number of entries acknowledged
]]
local acked = 0
local n = math.min(#ARGV, 1001)
for i = 2, n do
  acked = acked + redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  redis.call('XDEL', KEYS[1], ARGV[i])
end
return acked
