-- Lists the support tokens that are still valid, and removes the tokens
-- that have expired: their index entry, and their record when its own
-- expiry has not dropped it yet.
-- KEYS: 1 hg:support:index (hash: id -> sha256)
-- Returns a list of {id, name, role, created_at, expires_at}, sorted by id.
-- NOTE: the records are named inside the script, so it is not Redis
-- Cluster safe, like every hg:support key.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local index = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #index, 2 do
  local id, sha = index[i], index[i + 1]
  local record = 'hg:support:' .. sha
  local f = redis.call('HMGET', record, 'id', 'name', 'role', 'created_at',
                       'expires_at', 'expires_ms')
  local expires = tonumber(f[6] or '0') or 0
  if f[1] and (expires == 0 or now < expires) then
    out[#out + 1] = {f[1], f[2] or '', f[3] or '', f[4] or '', f[5] or ''}
  else
    redis.call('DEL', record)
    redis.call('HDEL', KEYS[1], id)
  end
end
table.sort(out, function(a, b) return a[1] < b[1] end)
return out
