-- Adds an update to a status incident and sets its status; resolving sets
-- resolved_at once, and any other status clears it (the incident reopens).
-- The last of the maximum updates must resolve, so a full incident never
-- stays open for good (incidents cannot be deleted).
-- KEYS: 1 incident hash, 2 its update list
-- ARGV: 1 status, 2 update (JSON), 3 now (RFC 3339), 4 now_ms,
--       5 maximum updates, then field/value pairs of other changes
-- Returns {"ok", {fields...}, {updates...}} | {"not_found"} | {"full"}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found'}
end
local count = redis.call('LLEN', KEYS[2])
local limit = tonumber(ARGV[5])
if count >= limit or (count == limit - 1 and ARGV[1] ~= 'resolved') then
  return {'full'}
end
local r = redis.call('HMGET', KEYS[1], 'resolved_at', 'resolved_ms')
local resolved_at, resolved_ms = r[1] or '', r[2] or '0'
if ARGV[1] ~= 'resolved' then
  resolved_at, resolved_ms = '', '0'
elseif resolved_at == '' then
  resolved_at, resolved_ms = ARGV[3], ARGV[4]
end
local fields = {'status', ARGV[1], 'updated_at', ARGV[3],
                'resolved_at', resolved_at, 'resolved_ms', resolved_ms}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('RPUSH', KEYS[2], ARGV[2])
return {'ok', redis.call('HGETALL', KEYS[1]),
        redis.call('LRANGE', KEYS[2], 0, -1)}
