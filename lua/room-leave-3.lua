--[[
  A session leaves a meeting room (idempotent). Its first-index entries, as listener and as
  speaker, go with it (one HDEL per other member: bounded by the room's member limit), and its
  last counted index and member lease in the stats; the last member to leave deletes the room.

  KEYS[1]  room members hash   room:members   session id -> member blob (JSON)
  KEYS[2]  room first hash     room:first     "<listener>|<speaker>" -> first utterance index
  KEYS[3]  room stats hash     room:stats     b, c, p; 's:'..speaker -> last counted index;
                                              'a:'..member -> lease end (room-touch-2)
  ARGV[1]  session id

  Returns: { removed (1 | 0), sid1, blob1, ... } (the members that remain)
]]
local members, first, stats = KEYS[1], KEYS[2], KEYS[3]
local sid = ARGV[1]
local removed = redis.call('HDEL', members, sid)
redis.call('HDEL', stats, 's:' .. sid, 'a:' .. sid)
local all = redis.call('HGETALL', members)
local out = { removed }
for i = 1, #all, 2 do
  redis.call('HDEL', first, sid .. '|' .. all[i], all[i] .. '|' .. sid)
  out[#out + 1] = all[i]
  out[#out + 1] = all[i + 1]
end
if #all == 0 then redis.call('DEL', members, first, stats) end
return out
