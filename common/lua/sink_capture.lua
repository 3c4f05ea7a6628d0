-- Stores one request received by a sink, newest first, and keeps at most N
-- captures and B bytes of them. The oldest go first, but the newest is
-- always kept. Counts the response status, and announces the capture on
-- the activity stream under the owner integration.
-- KEYS: 1 capture list, 2 stored bytes of the list, 3 counters hash,
--       4 activity stream
-- ARGV: 1 capture JSON, 2 N, 3 B, 4 TTL (s) of the captures,
--       5 activity record JSON, 6 activity max length, 7 owner
--       integration, 8 answer status
-- Returns {captures kept, bytes kept}
-- @include activity
local total = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  total = tonumber(redis.call('GET', KEYS[2]) or '0')
end
redis.call('LPUSH', KEYS[1], ARGV[1])
total = total + #ARGV[1]
local n = redis.call('LLEN', KEYS[1])
local max_n = tonumber(ARGV[2])
local max_bytes = tonumber(ARGV[3])
while n > 1 and (n > max_n or total > max_bytes) do
  local old = redis.call('RPOP', KEYS[1])
  total = total - #old
  n = n - 1
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('SET', KEYS[2], total, 'EX', tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[3], 'status:' .. ARGV[8], 1)
hg_activity(KEYS[4], ARGV[7], ARGV[5], ARGV[6])
return {n, total}
