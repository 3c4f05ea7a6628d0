-- Resolves an integration API key, an inspector session token or a support
-- token to the identity behind it. A session is checked again against the
-- credential it was opened with, so a revoked or expired key or support
-- token ends its sessions at their next request.
-- KEYS: 1 hg:apikey:<sha256>, hg:session:<sha256> or hg:support:<sha256>
-- ARGV: 1 "key", "session" or "support", 2 the sha256 of KEYS[1]
-- Returns {"ok", role, integration_id, principal id, key_sha256, name,
--   scopes, expires_ms} | {"denied", reason}
-- - role: "admin", "integration", "viewer" or "support"
-- - principal id: the API key id or the support token id
-- - key_sha256: the hash of the API key (integration) or of the admin key
--   (admin) behind the credential; the caller compares the admin key's
--   hash with its configuration
-- - expires_ms: when the key or support token expires (0: never)
-- - reason: unknown, revoked, expired or scope (an API key without read)
-- NOTE: the key and support records are named inside the script, so it is
-- not Redis Cluster safe; hg:session and hg:support keys carry no hash tag.
-- @include principal

local now = hg_now_ms()

-- Checks an API key by its hash. Returns the identity list, or nil and the
-- reason.
local function check_key(integration, sha)
  local record = 'hg:{' .. integration .. '}:key:' .. sha
  local id, scopes = hg_check_principal(record, now, 'read', '')
  if not id then
    return nil, scopes
  end
  local f = redis.call('HMGET', record, 'name', 'expires_ms')
  return {'ok', 'integration', integration, id, sha, f[1] or '', scopes,
          f[2] or '0'}
end

-- Checks a support token record. Returns the identity list, or nil and
-- the reason.
local function check_support(key)
  local f = redis.call('HMGET', key, 'id', 'name', 'role', 'expires_ms')
  if not f[1] then
    return nil, 'revoked'
  end
  local expires = tonumber(f[4] or '0') or 0
  if expires > 0 and now >= expires then
    return nil, 'expired'
  end
  return {'ok', f[3] or '', '', f[1], '', f[2] or '', 'read', f[4] or '0'}
end

local identity, why
if ARGV[1] == 'key' then
  local integration = redis.call('HGET', KEYS[1], 'integration_id')
  if not integration then
    return {'denied', 'unknown'}
  end
  identity, why = check_key(integration, ARGV[2])
elseif ARGV[1] == 'support' then
  identity, why = check_support(KEYS[1])
  if not identity then
    why = 'unknown'
  end
else
  local s = redis.call('HMGET', KEYS[1], 'role', 'integration_id',
                       'key_sha256', 'support_sha256')
  if not s[1] then
    return {'denied', 'unknown'}
  elseif s[1] == 'admin' then
    identity = {'ok', 'admin', '', '', s[3] or '', '', '', '0'}
  elseif s[1] == 'integration' then
    identity, why = check_key(s[2] or '', s[3] or '')
  else
    identity, why = check_support('hg:support:' .. (s[4] or ''))
  end
end
if not identity then
  return {'denied', why}
end
return identity
