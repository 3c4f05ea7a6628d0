-- Rotates an endpoint's secret: the current secret becomes the previous
-- one, still used to sign until its expiry, and the new one takes its
-- place. Both are stored sealed; the seal is bound to the endpoint, so
-- moving a value between the two fields keeps it valid. An endpoint keeps
-- one previous secret, so a rotation within the grace period of the last
-- one drops that secret early, and the reply contains its expiry.
-- KEYS: 1 endpoint hash
-- ARGV: 1 new sealed secret, 2 previous secret expiry (ms),
--       3 previous secret expiry (RFC 3339), 4 updated_at, 5 now (ms),
--       6 the sealed secret that the caller read as current, or "" to
--       rotate whatever it is
-- Returns {"ok", expiry (RFC 3339) of the dropped secret or ""} |
--   {"not_found"} | {"changed"} (the current secret is no longer ARGV[6])
local f = redis.call('HMGET', KEYS[1], 'secret', 'previous_secret',
                     'previous_expires_ms', 'previous_expires_at')
local current = f[1]
if not current then
  return {'not_found'}
end
if ARGV[6] ~= '' and current ~= ARGV[6] then
  return {'changed'}
end
local dropped = ''
if f[2] and f[2] ~= '' and tonumber(f[3] or '0') > tonumber(ARGV[5]) then
  dropped = f[4] or ''
end
redis.call('HSET', KEYS[1], 'previous_secret', current,
           'previous_expires_ms', ARGV[2], 'previous_expires_at', ARGV[3],
           'secret', ARGV[1], 'updated_at', ARGV[4])
return {'ok', dropped}
