-- Cancels a background job that has not finished. The worker checks the
-- status at the start of each batch (recover_batch.lua), so no batch runs
-- after this one returns.
-- KEYS: 1 job hash
-- ARGV: 1 now (RFC 3339), 2 integration id, 3 job id
-- Returns {"ok", field, value, ...} with the job record after the change,
--   {"unchanged", field, value, ...} for a job cancelled before,
--   {"finished", field, value, ...} for a job that is done, or {"missing"}
local job = redis.call('HMGET', KEYS[1], 'status', 'endpoint_id')
local status = job[1]
if not status then
  return {'missing'}
end
local result = 'ok'
if status == 'done' then
  result = 'finished'
elseif status == 'cancelled' then
  result = 'unchanged'
else
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated_at', ARGV[1],
             'finished_at', ARGV[1])
  -- The endpoint may get a new recovery job now (job_create.lua).
  local marker = 'hg:{' .. ARGV[2] .. '}:ep:' .. (job[2] or '') .. ':job'
  if redis.call('GET', marker) == ARGV[3] then
    redis.call('DEL', marker)
  end
end
local out = {result}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do
  out[#out + 1] = v
end
return out
