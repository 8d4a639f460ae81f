--[[
  Reads the logged outcome of one job (read only): the session's orderer checks an index it
  has waited on (a delivery lost with a dying instance is found here), and the job API shows
  the result, which is stored only in the result log.

  KEYS[1]  job hash     job:<jobId>
  KEYS[2]  result log   results:<sid>
  ARGV[1]  job id

  Returns: { kind ('r' | 'm'), blob (result) or missing reason } or {} when the index has no
           outcome yet (or its log entry is gone)
]]
--@include "job"
local kind, blob = loggedOutcome(KEYS[2], KEYS[1])
if not kind then return {} end
if not blob then
  if kind == 'm' then return { 'm', redis.call('HGET', KEYS[1], F.missingReason) or 'failed' } end
  return {}
end
return { kind, blob }
