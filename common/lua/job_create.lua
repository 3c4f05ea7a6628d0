-- Creates a background job of an integration and queues it for the
-- delivery workers. An endpoint has at most one unfinished recovery job,
-- because two jobs over the same deliveries would send each one twice.
-- KEYS: 1 integration hash, 2 job hash, 3 job queue stream, 4 hash of the
--       endpoint the job is for, 5 the endpoint's unfinished job (a string
--       with its id)
-- ARGV: 1 integration id, 2 job id, 3 retention of the job record (s),
--       then field/value pairs of the job
-- Returns {"ok"} | {"no_integration"} | {"no_endpoint"} |
--   {"busy", id of the unfinished job}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'no_integration'}
end
if redis.call('EXISTS', KEYS[4]) == 0 then
  return {'no_endpoint'}
end
local running = redis.call('GET', KEYS[5])
if running then
  local status = redis.call('HGET', 'hg:{' .. ARGV[1] .. '}:job:' .. running,
                            'status')
  if status == 'queued' or status == 'running' then
    return {'busy', running}
  end
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
redis.call('SET', KEYS[5], ARGV[2], 'EX', tonumber(ARGV[3]))
redis.call('XADD', KEYS[3], '*', 'i', ARGV[1], 'j', ARGV[2])
return {'ok'}
