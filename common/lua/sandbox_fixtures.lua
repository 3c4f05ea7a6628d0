-- Writes the sandbox fixtures: the integration "sandbox", its known API
-- key, the endpoint ep_sandbox that sends every event type to the
-- inspector's sink, and the reference data the catalog examples use. Every
-- value is fixed (times included), so a reset always produces the same
-- state, apart from the endpoint version: it only grows (see below), so
-- no gateway keeps a cached endpoint list across a reset.
-- KEYS: 1 integration hash, 2 key list, 3 key record, 4 endpoint index,
--       5 endpoint list, 6 endpoint version, 7 endpoint hash,
--       8 fixtures hash
-- ARGV: 1 key SHA-256, 2 key prefix, 3 sealed endpoint secret, 4 sink URL,
--       5 fixtures JSON, 6 fixed time (RFC 3339), 7 mode: "reset" or
--       "ensure". A reset writes every fixture over a purged sandbox.
--       "ensure" (at start) creates only what is missing, so changes made
--       through the API (a patched or disabled ep_sandbox, a revoked key)
--       are kept.
-- Returns "ok", or {"purge_alive", ms} (see below)
local t = ARGV[6]
-- A missing integration starts over: leftovers of a deleted one would
-- otherwise keep an endpoint or key out of its new lists.
local fresh = ARGV[7] == 'reset' or redis.call('EXISTS', KEYS[1]) == 0
-- A reset cut short (the gateway stopped during its purge) leaves the purge
-- marker, which would drop the sandbox's metric flushes for good. At start,
-- with no purge alive (its lease expired), the marker goes; while a lease
-- remains, the result is {"purge_alive", milliseconds left of it}, and the
-- caller tries again then.
-- NOTE: what that purge had not reached yet (old sandbox events and
-- deliveries) stays until the next reset or the retention.
local result = 'ok'
if ARGV[7] == 'ensure' then
  local marker = redis.call('GET', 'hg:{sandbox}:purging')
  if marker and marker ~= 'done' then
    if redis.call('EXISTS', 'hg:{sandbox}:purge_lease') == 0 then
      redis.call('DEL', 'hg:{sandbox}:purging')
    else
      result = {'purge_alive', redis.call('PTTL', 'hg:{sandbox}:purge_lease')}
    end
  end
end
if fresh then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5])
  redis.call('HSET', KEYS[1], 'id', 'sandbox', 'name', 'Sandbox',
             'created_at', t, 'updated_at', t, 'validate_payloads', '0',
             'operational_endpoint_id', '')
  -- A purge deletes the version counter too, and a counter that started
  -- again at 0 would repeat versions that gateways still have cached, so
  -- it starts at the server time in microseconds instead.
  local now = redis.call('TIME')
  local start = tonumber(now[1]) * 1000000 + tonumber(now[2])
  if (tonumber(redis.call('GET', KEYS[6]) or '0') or 0) < start then
    redis.call('SET', KEYS[6], string.format('%d', start))
  end
end
if fresh or redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[3], 'id', 'key_sandbox', 'name', 'sandbox key',
             'scopes', 'publish read manage', 'prefix', ARGV[2],
             'created_at', t, 'expires_at', '', 'expires_ms', '0',
             'revoked_at', '')
  redis.call('HSET', KEYS[2], 'key_sandbox', ARGV[1])
end
if fresh or redis.call('EXISTS', KEYS[7]) == 0 then
  redis.call('DEL', KEYS[7])
  redis.call('HSET', KEYS[7], 'id', 'ep_sandbox', 'url', ARGV[4],
             'description', 'Sandbox sink in the inspector',
             'event_types', '["*"]', 'filters', '*', 'status', 'enabled',
             'disabled_reason', '', 'headers', '{}', 'ordering_key', '',
             'secret', ARGV[3], 'previous_secret', '',
             'created_at', t, 'updated_at', t)
  redis.call('HSET', KEYS[4], 'ep_sandbox', 'enabled *')
  redis.call('ZADD', KEYS[5], 0, 'ep_sandbox')
  redis.call('INCR', KEYS[6])
end
-- A copy of catalog/sandbox-fixtures.json, which the API cannot change:
-- refreshed so that it follows the file of the running version.
redis.call('HSET', KEYS[8], 'json', ARGV[5])
return result
