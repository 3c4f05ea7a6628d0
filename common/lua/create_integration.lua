-- Creates an integration with its first API key.
-- KEYS: 1 integration set, 2 integration hash, 3 global key index
--       (hg:apikey:<sha256>), 4 the integration's key list, 5 key record
-- ARGV: 1 id, 2 name, 3 created_at, 4 key SHA-256, 5 scopes,
--       6 "ensure": "1" keeps an existing integration and only makes sure
--       the key exists (sandbox start), "0" fails when it exists,
--       7 key id, 8 key name, 9 key prefix (for display)
-- Returns "ok" | "exists" | "purging" (a delete of the id is running, or
--   was cut short, see integration_purge.lua) | "purged" (a delete ended
--   less than a minute ago)
local exists = redis.call('EXISTS', KEYS[2]) == 1
if exists and ARGV[6] ~= '1' then
  return 'exists'
end
if not exists then
  local prefix = 'hg:{' .. ARGV[1] .. '}:'
  local marker = redis.call('GET', prefix .. 'purging')
  if marker then
    return marker == 'done' and 'purged' or 'purging'
  end
  -- Keys without their record are what a delete cut short by an older
  -- version leaves once its marker expired: a new integration would
  -- inherit its endpoints and API keys.
  if redis.call('EXISTS', KEYS[4], prefix .. 'clients',
                prefix .. 'endpoints', prefix .. 'eplist', prefix .. 'epver',
                prefix .. 'events', prefix .. 'dlvidx') > 0 then
    return 'purging'
  end
end
if not exists then
  redis.call('HSET', KEYS[2], 'id', ARGV[1], 'name', ARGV[2],
             'created_at', ARGV[3], 'updated_at', ARGV[3])
  redis.call('SADD', KEYS[1], ARGV[1])
  -- The endpoint version starts at the current time in microseconds, not
  -- at 0: gateways may still cache the endpoint list of a deleted
  -- integration with the same id, and its version must never match again.
  local version_key = 'hg:{' .. ARGV[1] .. '}:epver'
  local now = redis.call('TIME')
  local start = tonumber(now[1]) * 1000000 + tonumber(now[2])
  if tonumber(redis.call('GET', version_key) or '0') < start then
    redis.call('SET', version_key, string.format('%d', start))
  end
  -- The sink named like the integration is the integration's from now on.
  -- A sink that another integration configured under this id before is
  -- deleted with its captures, so that integration can neither choose the
  -- responses of the new one's sink nor read the requests it receives.
  local sink = 'hg:sink:{' .. ARGV[1] .. '}:'
  local squatter = redis.call('HGET', sink .. 'config', 'integration_id')
  if squatter and squatter ~= ARGV[1] then
    redis.call('DEL', sink .. 'config', sink .. 'seq', sink .. 'stats',
               sink .. 'captures', sink .. 'bytes')
    redis.call('HDEL', 'hg:sinks', ARGV[1])
  end
end
redis.call('HSET', KEYS[5], 'id', ARGV[7], 'name', ARGV[8],
           'scopes', ARGV[5], 'prefix', ARGV[9], 'created_at', ARGV[3],
           'expires_at', '', 'expires_ms', '0', 'revoked_at', '')
redis.call('HSET', KEYS[4], ARGV[7], ARGV[4])
redis.call('HSET', KEYS[3], 'integration_id', ARGV[1], 'key_id', ARGV[7])
return 'ok'
