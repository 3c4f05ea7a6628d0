-- Sums the counter fields of several metric hashes of one integration.
-- KEYS: the minute or hour hashes to add up (missing ones count as empty)
-- Returns {field, total, field, total, ...} as strings.
local totals = {}
local order = {}
for _, key in ipairs(KEYS) do
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local f = flat[i]
    if totals[f] == nil then
      totals[f] = 0
      order[#order + 1] = f
    end
    totals[f] = totals[f] + tonumber(flat[i + 1])
  end
end
local out = {}
for _, f in ipairs(order) do
  out[#out + 1] = f
  out[#out + 1] = string.format('%d', totals[f])
end
return out
