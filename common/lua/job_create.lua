-- Creates a background job of an integration and queues it for the
-- delivery workers.
-- KEYS: 1 integration hash, 2 job hash, 3 job queue stream, 4 hash of the
--       endpoint the job is for
-- ARGV: 1 integration id, 2 job id, 3 retention of the job record (s),
--       then field/value pairs of the job
-- Returns "ok" | "no_integration" | "no_endpoint"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'no_integration'
end
if redis.call('EXISTS', KEYS[4]) == 0 then
  return 'no_endpoint'
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
redis.call('XADD', KEYS[3], '*', 'i', ARGV[1], 'j', ARGV[2])
return 'ok'
