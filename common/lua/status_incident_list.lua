-- Reads status incidents, newest first, each with its updates.
-- KEYS: 1 incident index, or an incident hash when ARGV[1] is "one"
-- ARGV: 1 "one" | "all" | "active" | "resolved", 2 limit
-- Returns {{fields...}, {updates...}, ...}, flattened in pairs
local out = {}
local function add(id)
  local key = 'hg:{status}:inc:' .. id
  local fields = redis.call('HGETALL', key)
  if #fields > 0 then
    out[#out + 1] = fields
    out[#out + 1] = redis.call('LRANGE', key .. ':updates', 0, -1)
  end
end
if ARGV[1] == 'one' then
  add(string.sub(KEYS[1], string.len('hg:{status}:inc:') + 1))
  return out
end
local limit = tonumber(ARGV[2])
local ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  if #out >= limit * 2 then
    break
  end
  local resolved = redis.call('HGET', 'hg:{status}:inc:' .. id, 'status')
  if ARGV[1] == 'all' or
     (ARGV[1] == 'active' and resolved ~= 'resolved') or
     (ARGV[1] == 'resolved' and resolved == 'resolved') then
    add(id)
  end
end
return out
