-- Creates an integration with its first API key.
-- KEYS: 1 integration set, 2 integration hash, 3 API key hash,
--       4 the integration's set of key hashes
-- ARGV: 1 id, 2 name, 3 created_at, 4 key SHA-256, 5 scopes,
--       6 "ensure": "1" keeps an existing integration and only makes sure
--       the key maps to it (sandbox start), "0" fails when it exists
-- Returns "ok" | "exists"
local exists = redis.call('EXISTS', KEYS[2]) == 1
if exists and ARGV[6] ~= '1' then
  return 'exists'
end
if not exists then
  redis.call('HSET', KEYS[2], 'id', ARGV[1], 'name', ARGV[2],
             'created_at', ARGV[3])
  redis.call('SADD', KEYS[1], ARGV[1])
end
redis.call('HSET', KEYS[3], 'integration_id', ARGV[1], 'scopes', ARGV[5],
           'created_at', ARGV[3])
redis.call('SADD', KEYS[4], ARGV[4])
return 'ok'
