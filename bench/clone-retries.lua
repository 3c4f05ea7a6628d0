-- Copies pending retries that hookgate created through its real path, so a
-- benchmark reaches a large schedule quickly. For each source schedule
-- member "<integration> <delivery id>" in LRANGE KEYS[1] ARGV[1] ARGV[2],
-- it writes ARGV[3] copies with the ids "<delivery id>c<n>": the delivery
-- hash (its "id" field changed), the attempt list, the schedule entry with
-- the same due time, the endpoint's pending-set entry, the delivery index
-- entry, and the id appended to the event's "deliveries" field, with the
-- source keys' remaining time to live. A copy shares the event of its
-- source, like the deliveries of one event to several endpoints.
-- KEYS: 1 list of source members, 2 retry schedule
-- ARGV: 1 first index, 2 last index, 3 copies per source, 4 first copy number
local sources = redis.call('LRANGE', KEYS[1], ARGV[1], ARGV[2])
local copies = tonumber(ARGV[3])
local first = tonumber(ARGV[4])
local by_event = {}
local written = 0

for _, member in ipairs(sources) do
  local integration, id = member:match('^(%S+) (%S+)$')
  local prefix = 'hg:{' .. integration .. '}:'
  local score = redis.call('ZSCORE', KEYS[2], member)
  local fields = redis.call('HGETALL', prefix .. 'dlv:' .. id)
  local dlv_ttl = redis.call('PTTL', prefix .. 'dlv:' .. id)
  local attempts = redis.call('LRANGE', prefix .. 'att:' .. id, 0, -1)
  local att_ttl = redis.call('PTTL', prefix .. 'att:' .. id)
  local event_id, endpoint_id
  for i = 1, #fields, 2 do
    if fields[i] == 'event_id' then event_id = fields[i + 1] end
    if fields[i] == 'endpoint_id' then endpoint_id = fields[i + 1] end
  end
  if score and event_id and endpoint_id then
    local ids = by_event[prefix .. 'evt:' .. event_id] or {}
    by_event[prefix .. 'evt:' .. event_id] = ids
    for n = first, first + copies - 1 do
      local copy = id .. 'c' .. n
      for i = 1, #fields, 2 do
        if fields[i] == 'id' then fields[i + 1] = copy end
      end
      redis.call('HSET', prefix .. 'dlv:' .. copy, unpack(fields))
      if dlv_ttl > 0 then redis.call('PEXPIRE', prefix .. 'dlv:' .. copy, dlv_ttl) end
      if #attempts > 0 then
        redis.call('RPUSH', prefix .. 'att:' .. copy, unpack(attempts))
        if att_ttl > 0 then redis.call('PEXPIRE', prefix .. 'att:' .. copy, att_ttl) end
      end
      redis.call('ZADD', KEYS[2], score, integration .. ' ' .. copy)
      redis.call('SADD', prefix .. 'ep:' .. endpoint_id .. ':pending', copy)
      redis.call('ZADD', prefix .. 'dlvidx', 0, copy)
      ids[#ids + 1] = copy
      written = written + 1
    end
  end
end

for key, ids in pairs(by_event) do
  local list = redis.call('HGET', key, 'deliveries')
  if list then
    redis.call('HSET', key, 'deliveries', list .. ' ' .. table.concat(ids, ' '))
  end
end
return written
