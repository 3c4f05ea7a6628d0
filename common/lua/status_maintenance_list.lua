-- Reads maintenance windows ordered by their end time.
-- KEYS: 1 window index (sorted set, ends_ms), or a window hash when
--       ARGV[1] is "one"
-- ARGV: 1 "one" | "all" | "current" (not ended at ARGV[2]), 2 now_ms,
--       3 limit
-- Returns {{fields...}, ...}
if ARGV[1] == 'one' then
  local fields = redis.call('HGETALL', KEYS[1])
  if #fields == 0 then
    return {}
  end
  return {fields}
end
local ids
if ARGV[1] == 'current' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf',
                   'LIMIT', 0, tonumber(ARGV[3]))
else
  ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
end
local out = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HGETALL', 'hg:{status}:mnt:' .. id)
  if #fields > 0 then
    out[#out + 1] = fields
  end
end
return out
