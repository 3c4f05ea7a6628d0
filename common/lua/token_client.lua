-- Checks the secret of an OAuth client for POST /oauth/token, with a limit
-- on failed attempts per client so that a secret cannot be guessed at
-- speed. A wrong secret uses one request of a generic cell rate algorithm
-- bucket (burst: one second's worth). While the bucket is full, every
-- attempt is rejected unchecked, the right secret included, so a client
-- cannot test guesses past the limit.
-- KEYS: 1 client record, 2 bucket of failed attempts
-- ARGV: 1 SHA-256 (hex) of the presented secret, 2 failed attempts allowed
--       per second
-- Returns {"ok", scopes, expires_ms ("0": none)} | {"invalid"} |
--   {"revoked"} | {"expired"} | {"limited", retry_after_ms}
-- @include principal

local now = hg_now_ms()
local rate = tonumber(ARGV[2])
local allowed, wait = hg_gcra_peek(KEYS[2], now, rate)
if not allowed then
  return {'limited', math.ceil(wait)}
end

-- The secrets are random, so the timing of a comparison of their SHA-256
-- digests reveals nothing useful about them.
local f = redis.call('HMGET', KEYS[1], 'secret_sha256', 'scopes',
                     'revoked_at', 'expires_ms')
if not f[1] or f[1] == '' or f[1] ~= ARGV[1] then
  hg_gcra(KEYS[2], now, rate)
  return {'invalid'}
end
if f[3] and f[3] ~= '' then
  return {'revoked'}
end
local expires = tonumber(f[4] or '0') or 0
if expires > 0 and now >= expires then
  return {'expired'}
end
return {'ok', f[2] or '', string.format('%d', expires)}
