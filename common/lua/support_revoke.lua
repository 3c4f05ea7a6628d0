-- Revokes a support token: deletes its record and its index entry. Every
-- session opened with the token checks the record on each request
-- (credential_resolve.lua), so they stop working at once.
-- KEYS: 1 hg:support:index (hash: id -> sha256)
-- ARGV: 1 id
-- Returns {"ok", name, role} | {"not_found"}
local sha = redis.call('HGET', KEYS[1], ARGV[1])
if not sha then
  return {'not_found'}
end
local record = 'hg:support:' .. sha
local f = redis.call('HMGET', record, 'name', 'role')
redis.call('DEL', record)
redis.call('HDEL', KEYS[1], ARGV[1])
if not f[1] then
  return {'not_found'}
end
return {'ok', f[1], f[2] or ''}
