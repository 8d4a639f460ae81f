-- cell-util: tiny helpers every node-cell script uses. Kept minimal on purpose: each
-- included function is a closure created on every script call (hot paths pay for it).

-- Splits a comma list into an array ('' -> {}). Returns nil when it has more than `cap`
-- items. Bounded: every iteration consumes at least one character of `s`.
local function split_csv(s, cap)
  local out = {}
  if not s or s == '' then return out end
  local n, i = 0, 1
  while true do
    local j = string.find(s, ',', i, true)
    n = n + 1
    if cap and n > cap then return nil end
    if j == nil then
      out[n] = string.sub(s, i)
      return out
    end
    out[n] = string.sub(s, i, j - 1)
    i = j + 1
  end
end

-- A node or job id: no ',' (lists) and no '|' (reservation ids), no spaces; bounded length.
local function valid_id(s)
  return #s > 0 and #s <= 128 and string.find(s, '[,|%s]') == nil
end
