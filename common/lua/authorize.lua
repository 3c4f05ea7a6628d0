-- Checks the caller of an integration-scoped route and applies the rate
-- limits, in one round trip.
-- KEYS: 1 principal record (key or OAuth client), 2 principal bucket,
--       3 integration bucket
-- ARGV: 1 required scope, 2 token scopes ("" for an API key),
--       3 rate per principal (per second, 0 = none),
--       4 rate per integration
-- Returns {"ok", principal id, scopes, remaining, reset_ms, policy} |
--   {"denied", reason} | {"limited", retry_after_ms, policy}
-- where policy ("key" or "integration") names the limit that the
-- remaining count and times describe; policy is "" when neither limit is
-- set.
-- @include principal

local now = hg_now_ms()
local id, scopes = hg_check_principal(KEYS[1], now, ARGV[1], ARGV[2])
if not id then
  return {'denied', scopes}
end

local limited, remaining, reset, policy =
  hg_rate_limit(KEYS[2], KEYS[3], now, tonumber(ARGV[3]) or 0,
                tonumber(ARGV[4]) or 0)
if limited then
  return limited
end
return {'ok', id, scopes, remaining, math.ceil(reset), policy}
