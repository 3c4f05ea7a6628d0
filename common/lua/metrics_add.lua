-- Adds one flush of metric counters to a minute hash, its hour roll-up and,
-- for the delivery counters (d_*, dl:*), to a fine bucket of a few seconds
-- that alert windows read.
-- Nothing is written for an integration that no longer exists, so a late
-- flush does not bring a deleted one's keys back. Nothing is written while
-- the id's purge marker exists either (up to a minute after a delete), so
-- the flush does not count for an integration created again with the id.
-- KEYS: 1 minute hash, 2 hour hash, 3 integration hash, 4 fine bucket hash
-- ARGV: 1 expiry of the minute and hour hashes in seconds, 2 expiry of the
--       fine bucket in seconds, then field and increment pairs
-- Returns 1, or 0 when the integration does not exist
local marker = string.gsub(KEYS[3], '}:integration$', '}:purging')
if redis.call('EXISTS', KEYS[3]) == 0 or
   redis.call('EXISTS', marker) == 1 then
  return 0
end
local fine = false
for i = 3, #ARGV, 2 do
  local field = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  redis.call('HINCRBY', KEYS[1], field, n)
  redis.call('HINCRBY', KEYS[2], field, n)
  if string.sub(field, 1, 2) == 'd_' or string.sub(field, 1, 3) == 'dl:' then
    redis.call('HINCRBY', KEYS[4], field, n)
    fine = true
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
if fine then
  redis.call('EXPIRE', KEYS[4], ARGV[2])
end
return 1
