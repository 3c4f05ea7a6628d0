-- Creates or changes a maintenance window. The times are checked against
-- the stored ones, so a change of one end still keeps ends after starts
-- and the window within its longest duration.
-- KEYS: 1 window index (sorted set, ends_ms), 2 window hash
-- ARGV: 1 "create" | "update", 2 id, 3 now (RFC 3339), 4 now_ms,
--       5 starts_ms ("" unchanged), 6 ends_ms ("" unchanged),
--       7 longest duration (ms), then field/value pairs
-- Returns {"ok", {fields...}} | {"not_found"} | {"bad_range"} | {"ended"}
--   | {"too_long"}
local exists = redis.call('EXISTS', KEYS[2]) == 1
if ARGV[1] == 'update' and not exists then
  return {'not_found'}
end
local old = redis.call('HMGET', KEYS[2], 'starts_ms', 'ends_ms')
local starts = tonumber(ARGV[5] ~= '' and ARGV[5] or old[1] or '0')
local ends = tonumber(ARGV[6] ~= '' and ARGV[6] or old[2] or '0')
if ends <= starts then
  return {'bad_range'}
end
if ends - starts > tonumber(ARGV[7]) then
  return {'too_long'}
end
if ARGV[1] == 'update' and ARGV[6] ~= '' and ends <= tonumber(ARGV[4]) then
  return {'ended'}
end
local fields = {'updated_at', ARGV[3], 'starts_ms', string.format('%d', starts),
                'ends_ms', string.format('%d', ends)}
if ARGV[1] == 'create' then
  for _, v in ipairs({'id', ARGV[2], 'created_at', ARGV[3]}) do
    fields[#fields + 1] = v
  end
end
for i = 8, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('ZADD', KEYS[1], ends, ARGV[2])
-- Windows that ended more than 90 days ago are removed.
local old_ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',
                           tonumber(ARGV[4]) - 90 * 86400000, 'LIMIT', 0, 100)
for _, id in ipairs(old_ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', 'hg:{status}:mnt:' .. id)
end
return {'ok', redis.call('HGETALL', KEYS[2])}
