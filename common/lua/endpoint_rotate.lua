-- Rotates an endpoint's secret: the current secret becomes the previous
-- one, still used to sign until its expiry, and the new one takes its
-- place. Both are stored sealed; the seal is bound to the endpoint, so
-- moving a value between the two fields keeps it valid.
-- KEYS: 1 endpoint hash
-- ARGV: 1 new sealed secret, 2 previous secret expiry (ms),
--       3 previous secret expiry (RFC 3339), 4 updated_at
-- Returns "ok" | "not_found"
local current = redis.call('HGET', KEYS[1], 'secret')
if not current then
  return 'not_found'
end
redis.call('HSET', KEYS[1], 'previous_secret', current,
           'previous_expires_ms', ARGV[2], 'previous_expires_at', ARGV[3],
           'secret', ARGV[1], 'updated_at', ARGV[4])
return 'ok'
