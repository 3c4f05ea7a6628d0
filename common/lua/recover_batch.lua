-- Runs one batch of a recovery job: walks the integration's deliveries in
-- id (time) order from the job's cursor and queues a manual attempt of
-- each one of the job's endpoint whose status is failed or dead.
-- KEYS: 1 job hash, 2 delivery index, 3 work stream
-- ARGV: 1 integration id, 2 batch size, 3 now (RFC 3339)
-- Returns {"running" | "done" | "cancelled", scanned so far, requeued so
--   far} | {"missing"}
local job = redis.call('HMGET', KEYS[1], 'endpoint_id', 'cursor', 'until',
                       'scanned', 'requeued', 'status')
if not job[1] then
  return {'missing'}
end
-- A cancelled job keeps its status and counts (job_cancel.lua).
if job[6] == 'done' or job[6] == 'cancelled' then
  return {job[6], tonumber(job[4]), tonumber(job[5])}
end
local prefix = 'hg:{' .. ARGV[1] .. '}:dlv:'
local ids = redis.call('ZRANGEBYLEX', KEYS[2], job[2], job[3], 'LIMIT', 0,
                       tonumber(ARGV[2]))
local scanned = tonumber(job[4]) + #ids
local requeued = tonumber(job[5])
for _, id in ipairs(ids) do
  local d = redis.call('HMGET', prefix .. id, 'endpoint_id', 'status')
  if d[1] == job[1] and (d[2] == 'failed' or d[2] == 'dead') then
    redis.call('XADD', KEYS[3], '*', 'i', ARGV[1], 'd', id, 'm', '1')
    requeued = requeued + 1
  end
end
local status = #ids < tonumber(ARGV[2]) and 'done' or 'running'
local fields = {'scanned', scanned, 'requeued', requeued, 'status', status,
                'updated_at', ARGV[3]}
if #ids > 0 then
  fields[#fields + 1] = 'cursor'
  fields[#fields + 1] = '(' .. ids[#ids]
end
if status == 'done' then
  fields[#fields + 1] = 'finished_at'
  fields[#fields + 1] = ARGV[3]
  -- The endpoint may get a new recovery job now (job_create.lua).
  local marker = 'hg:{' .. ARGV[1] .. '}:ep:' .. job[1] .. ':job'
  if redis.call('GET', marker) == string.match(KEYS[1], ':job:(.*)$') then
    redis.call('DEL', marker)
  end
end
redis.call('HSET', KEYS[1], unpack(fields))
return {status, scanned, requeued}
