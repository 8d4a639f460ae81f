--[[
  rate-take: token buckets for utterances, one per tenant and one per session, checked and
  debited together (one atomic step, so concurrent gateways of a tenant never over-admit).

  A bucket holds up to `burst` tokens and refills at `rate` per second. A request for n
  tokens passes when each bucket holds min(n, burst) (so a request larger than the burst is
  possible from a full bucket, and never starves) and then debits n, leaving the bucket
  negative down to -burst: what was taken above the burst is paid back by waiting. `force`
  debits without checking (utterances finalized by the server's own timer: their audio was
  already accepted and cannot be refused any more).

  Idempotent under re-send by request id: the session bucket remembers the id of the last
  take that passed, and the same id again returns 'taken' without debiting twice.

  KEYS[1]  tenant bucket hash   ({t:<tenant>}:rate)         fields t (tokens), ts (ms)
  KEYS[2]  session bucket hash  ({t:<tenant>}:rate:<sid>)   fields t, ts
  ARGV[1]  now (ms)
  ARGV[2]  n: tokens to take (integer >= 1)
  ARGV[3]  '1' = force (debit without checking), else '0'
  ARGV[4]  tenant rate per second (0 = no tenant limit)    ARGV[5]  tenant burst (>= 1)
  ARGV[6]  session rate per second (0 = no session limit)  ARGV[7]  session burst (>= 1)
  ARGV[8]  request id, unique per take of the session ('' = none)

  Returns  {1, 0, ''}                   taken
           {0, retry_after_ms, scope}   refused (nothing debited); scope 'session' | 'tenant':
                                        the bucket that was short, retry_after_ms until it
                                        holds enough
           -8 BAD_ARGUMENT
  Every bucket key gets a TTL: the time it needs to refill completely, + 1 s (a missing
  bucket is a full one, so expiring a full bucket changes nothing).
]]
local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local force = ARGV[3] == '1'
local specs = {
  { key = KEYS[2], rate = tonumber(ARGV[6]), burst = tonumber(ARGV[7]), scope = 'session' },
  { key = KEYS[1], rate = tonumber(ARGV[4]), burst = tonumber(ARGV[5]), scope = 'tenant' },
}
if now == nil or n == nil or n < 1 then return -8 end
for i = 1, 2 do
  local s = specs[i]
  if s.rate == nil or s.rate < 0 or s.burst == nil or s.burst < 1 then return -8 end
end

local rid = ARGV[8] or ''
if rid ~= '' and redis.call('HGET', KEYS[2], 'rid') == rid then return { 1, 0, '' } end

-- Current level of each limited bucket (refilled up to now).
for i = 1, 2 do
  local s = specs[i]
  if s.rate > 0 then
    local b = redis.call('HMGET', s.key, 't', 'ts')
    local tokens, ts = tonumber(b[1]), tonumber(b[2])
    if tokens == nil or ts == nil then
      tokens = s.burst
      s.ts = now
    else
      s.ts = math.max(ts, now)
      local elapsed = now - ts
      if elapsed < 0 then elapsed = 0 end -- another gateway's clock ran ahead
      tokens = math.min(s.burst, tokens + elapsed * s.rate / 1000)
    end
    s.tokens = tokens
    if not force then
      local need = math.min(n, s.burst)
      if tokens < need then
        return { 0, math.ceil((need - tokens) * 1000 / s.rate), s.scope }
      end
    end
  end
end

for i = 1, 2 do
  local s = specs[i]
  if s.rate > 0 then
    local left = math.max(-s.burst, s.tokens - n)
    redis.call('HSET', s.key, 't', tostring(left), 'ts', s.ts)
    redis.call('PEXPIRE', s.key, math.ceil((s.burst - left) * 1000 / s.rate) + 1000)
  end
end
-- Only a session bucket that exists (it has a TTL) remembers the request id.
if rid ~= '' and specs[1].rate > 0 then redis.call('HSET', KEYS[2], 'rid', rid) end
return { 1, 0, '' }
