-- Creates a status incident with its first update. The 1000 newest
-- incidents are kept; older ones are removed with their updates.
-- KEYS: 1 incident index (sorted set, created_ms), 2 incident hash,
--       3 its update list
-- ARGV: 1 id, 2 created_ms, 3 created_at, 4 resolved_at ("" unless
--       created resolved), 5 first update (JSON), then field/value pairs
--       (status, impact, title, components, resolved_ms)
-- Returns "ok"
local fields = {'id', ARGV[1], 'created_ms', ARGV[2], 'created_at', ARGV[3],
                'updated_at', ARGV[3], 'resolved_at', ARGV[4]}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('RPUSH', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
while redis.call('ZCARD', KEYS[1]) > 1000 do
  local oldest = redis.call('ZPOPMIN', KEYS[1])
  redis.call('DEL', 'hg:{status}:inc:' .. oldest[1],
             'hg:{status}:inc:' .. oldest[1] .. ':updates')
end
return 'ok'
