-- Registers an endpoint and bumps the endpoint version, so that gateways
-- drop their cached endpoint lists.
-- KEYS: 1 integration hash, 2 endpoint index hash, 3 endpoint version,
--       4 endpoint hash
-- ARGV: 1 endpoint id, 2 url, 3 event types (JSON array),
--       4 filters (space-separated), 5 secret, 6 created_at, 7 description,
--       8 "ensure": "1" keeps the secret of an existing endpoint
-- Returns {"ok", secret} | {"no_integration"}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'no_integration'}
end
local secret = ARGV[5]
if ARGV[8] == '1' then
  local old = redis.call('HGET', KEYS[4], 'secret')
  if old then
    secret = old
  end
end
redis.call('HSET', KEYS[4], 'id', ARGV[1], 'url', ARGV[2],
           'event_types', ARGV[3], 'secret', secret, 'status', 'enabled',
           'created_at', ARGV[6], 'description', ARGV[7])
redis.call('HSET', KEYS[2], ARGV[1], 'enabled ' .. ARGV[4])
redis.call('INCR', KEYS[3])
return {'ok', secret}
