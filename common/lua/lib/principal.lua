-- Caller checks and rate limits shared by authorize.lua and publish.lua.
-- A principal is an API key (its record hg:{I}:key:<sha256>) or the OAuth
-- client behind a token (hg:{I}:client:<client_id>); the admin key has
-- already been checked by the gateway.

-- Returns the server's clock in milliseconds, the same for every gateway.
local function hg_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function hg_has_scope(scopes, scope)
  return string.find(' ' .. scopes .. ' ', ' ' .. scope .. ' ', 1, true) ~= nil
end

-- Loads and checks a principal record. Returns the record's id and
-- scopes, or nil and the reason: unknown, revoked, expired or scope.
local function hg_check_principal(record_key, now, scope, token_scopes)
  local f = redis.call('HMGET', record_key, 'id', 'scopes', 'expires_ms',
                       'revoked_at')
  if not f[1] then
    return nil, 'unknown'
  end
  if f[4] and f[4] ~= '' then
    return nil, 'revoked'
  end
  local expires = tonumber(f[3] or '0') or 0
  if expires > 0 and now >= expires then
    return nil, 'expired'
  end
  local scopes = f[2] or ''
  if not hg_has_scope(scopes, scope) or
     (token_scopes ~= '' and not hg_has_scope(token_scopes, scope)) then
    return nil, 'scope'
  end
  return f[1], scopes
end

-- Generic cell rate algorithm: rate requests per second with a burst of
-- one second's worth. Returns allowed, remaining, and milliseconds until
-- the next request is allowed (when refused) or until the bucket is full.
local function hg_gcra(key, now, rate)
  if rate <= 0 then
    return true, 0, 0
  end
  local interval = 1000 / rate
  local tolerance = interval * rate
  local tat = tonumber(redis.call('GET', key) or '0') or 0
  if tat < now then
    tat = now
  end
  local over = tat - now - (tolerance - interval)
  if over > 0 then
    return false, 0, over
  end
  local new_tat = tat + interval
  redis.call('SET', key, string.format('%.3f', new_tat), 'PX',
             math.ceil(new_tat - now) + 1000)
  return true, math.floor((tolerance - (new_tat - now)) / interval),
         new_tat - now
end

-- Applies the per-principal and the per-integration limit. Returns nil
-- when allowed, else {"limited", retry_after_ms, which}. Also returns the
-- remaining count and reset time of the principal's limit.
local function hg_rate_limit(principal_bucket, integration_bucket, now,
                             rate, integration_rate)
  local ok, remaining, wait = hg_gcra(principal_bucket, now, rate)
  if not ok then
    return {'limited', math.ceil(wait), 'key'}, 0, wait
  end
  local iok, _, iwait = hg_gcra(integration_bucket, now, integration_rate)
  if not iok then
    return {'limited', math.ceil(iwait), 'integration'}, remaining, wait
  end
  return nil, remaining, wait
end
