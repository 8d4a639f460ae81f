--[[
  Deletes a dead instance's inbox once it is empty, atomically: an entry XADDed between the
  drainer's last read and the delete is never deleted with it (the drainer sees 0 and goes
  on draining next round).

  KEYS[1]  inbox stream
  ARGV     (none)

  Returns: 1 when the inbox was empty and is deleted (or did not exist), 0 when it still holds entries
]]
if redis.call('XLEN', KEYS[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1
