-- Reads one page of an integration's endpoints, in id (creation) order.
-- KEYS: 1 endpoint list (sorted set with score 0)
-- ARGV: 1 integration id, 2 cursor: the last id of the previous page, or
--       "" for the first page, 3 page size
-- Returns {next cursor or "", {fields...}, {fields...}, ...}
local from = ARGV[2] == '' and '-' or '(' .. ARGV[2]
local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0,
                       limit + 1)
local out = {''}
local prefix = 'hg:{' .. ARGV[1] .. '}:ep:'
for i = 1, math.min(#ids, limit) do
  out[#out + 1] = redis.call('HGETALL', prefix .. ids[i])
end
if #ids > limit then
  out[1] = ids[limit]
end
return out
