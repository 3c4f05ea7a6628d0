-- Lists the API keys or OAuth clients of an integration, oldest first.
-- KEYS: 1 the integration's list (hash: id -> record suffix)
-- ARGV: 1 integration id, 2 record kind: "key" or "client"
-- Returns {{fields...}, ...}; secrets and hashes are never included.
local prefix = 'hg:{' .. ARGV[1] .. '}:' .. ARGV[2] .. ':'
local list = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #list, 2 do
  local suffix = ARGV[2] == 'key' and list[i + 1] or list[i]
  local f = redis.call('HMGET', prefix .. suffix, 'id', 'name', 'scopes',
                       'prefix', 'created_at', 'expires_at', 'revoked_at')
  if f[1] then
    out[#out + 1] = {'id', f[1], 'name', f[2] or '', 'scopes', f[3] or '',
                     'prefix', f[4] or '', 'created_at', f[5] or '',
                     'expires_at', f[6] or '', 'revoked_at', f[7] or ''}
  end
end
table.sort(out, function(a, b) return a[2] < b[2] end)
return out
