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

-- Reads a generic cell rate algorithm bucket of rate requests per second,
-- with a burst of one second's worth, without changing it. Returns the
-- theoretical arrival time to store if a request is allowed now, or nil
-- and the milliseconds until one is.
local function hg_gcra_peek(key, now, rate, stored)
  local interval = 1000 / rate
  local tolerance = interval * rate
  -- stored: the bucket's value when the caller read it already (false
  -- for a missing key).
  if stored == nil then
    stored = redis.call('GET', key)
  end
  local tat = tonumber(stored or '0') or 0
  if tat < now then
    tat = now
  end
  local over = tat - now - (tolerance - interval)
  if over > 0 then
    return nil, over
  end
  return tat + interval
end

-- Stores the theoretical arrival time returned by hg_gcra_peek. Returns
-- the requests left and the milliseconds until the bucket is full.
local function hg_gcra_charge(key, now, rate, tat)
  local interval = 1000 / rate
  redis.call('SET', key, string.format('%.3f', tat), 'PX',
             math.ceil(tat - now) + 1000)
  return math.floor((1000 - (tat - now)) / interval), tat - now
end

-- Takes one request from a bucket. Returns allowed, remaining, and the
-- milliseconds until the next request is allowed (when refused) or until
-- the bucket is full.
local function hg_gcra(key, now, rate)
  if rate <= 0 then
    return true, 0, 0
  end
  local tat, wait = hg_gcra_peek(key, now, rate)
  if not tat then
    return false, 0, wait
  end
  local remaining, reset = hg_gcra_charge(key, now, rate, tat)
  return true, remaining, reset
end

-- Applies the per-principal ("key") and the per-integration limit. Every
-- limit is checked before any is charged, so a request that one limit
-- rejects uses up nothing of the other; when both reject, the longer wait
-- is reported. Returns nil or {"limited", retry_after_ms, policy}, then
-- the remaining count, reset time (ms) and policy of the limit with the
-- fewest requests left ("" when neither is set).
local function hg_rate_limit(principal_bucket, integration_bucket, now,
                             rate, integration_rate)
  local limits = {
    {policy = 'key', key = principal_bucket, rate = rate or 0},
    {policy = 'integration', key = integration_bucket,
     rate = integration_rate or 0},
  }
  local rejected = nil
  -- Both buckets are read with one command when both limits are set.
  if limits[1].rate > 0 and limits[2].rate > 0 then
    local stored = redis.call('MGET', principal_bucket, integration_bucket)
    limits[1].stored = stored[1]
    limits[2].stored = stored[2]
  end
  for _, l in ipairs(limits) do
    if l.rate > 0 then
      local tat, wait = hg_gcra_peek(l.key, now, l.rate, l.stored)
      l.tat = tat
      if not tat and (not rejected or wait > rejected.wait) then
        rejected = {policy = l.policy, wait = wait}
      end
    end
  end
  if rejected then
    return {'limited', math.ceil(rejected.wait), rejected.policy}, 0,
           rejected.wait, rejected.policy
  end
  local closest = nil
  for _, l in ipairs(limits) do
    if l.rate > 0 then
      l.remaining, l.reset = hg_gcra_charge(l.key, now, l.rate, l.tat)
      if not closest or l.remaining < closest.remaining or
         (l.remaining == closest.remaining and l.reset > closest.reset) then
        closest = l
      end
    end
  end
  if not closest then
    return nil, 0, 0, ''
  end
  return nil, closest.remaining, closest.reset, closest.policy
end
