-- Revokes an API key or OAuth client: its record keeps revoked_at, so it
-- stays listed, and authorize.lua refuses it from now on.
-- KEYS: 1 the integration's list (hash: id -> record suffix)
-- ARGV: 1 integration id, 2 record kind: "key" or "client", 3 id,
--       4 revoked_at
-- Returns {"ok", hash or id for the global index} | {"not_found"} |
--   {"already_revoked"}
local value = redis.call('HGET', KEYS[1], ARGV[3])
if not value then
  return {'not_found'}
end
local suffix = ARGV[2] == 'key' and value or ARGV[3]
local record = 'hg:{' .. ARGV[1] .. '}:' .. ARGV[2] .. ':' .. suffix
local revoked = redis.call('HGET', record, 'revoked_at')
if revoked and revoked ~= '' then
  return {'already_revoked'}
end
redis.call('HSET', record, 'revoked_at', ARGV[4])
return {'ok', suffix}
