-- Removes, one batch per call, what a deleted integration left in keys
-- that all integrations share: its sinks (configuration, counters and
-- captures) and its records in the activity stream. Without this, an
-- integration created later with the same id would own those sinks and
-- replay those records in its live feed.
-- NOTE: the sink keys are named here, not in KEYS, as in sink_*.lua; a
-- single Redis primary allows that.
-- KEYS: 1 sink index (hg:sinks), 2 activity stream
-- ARGV: 1 integration id, 2 phase ("sinks" or "activity"), 3 cursor ("0"
--       to start a phase), 4 batch size
-- Returns {next phase ("" when done), next cursor, sinks removed,
--   records removed}
local id, phase, cursor = ARGV[1], ARGV[2], ARGV[3]
local batch = tonumber(ARGV[4])

local function delete_sink(sink)
  local prefix = 'hg:sink:{' .. sink .. '}:'
  redis.call('UNLINK', prefix .. 'config', prefix .. 'seq', prefix .. 'stats',
             prefix .. 'captures', prefix .. 'bytes')
  redis.call('HDEL', KEYS[1], sink)
end

if phase == 'sinks' then
  local removed = 0
  -- The sink named like the integration is its own even without a
  -- configuration, so its captures go too.
  if cursor == '0' then
    if redis.call('HGET', KEYS[1], id) == id then
      removed = removed + 1
    end
    delete_sink(id)
  end
  local reply = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', batch)
  local sink_owners = reply[2]
  for i = 1, #sink_owners, 2 do
    if sink_owners[i + 1] == id then
      delete_sink(sink_owners[i])
      removed = removed + 1
    end
  end
  if reply[1] == '0' then
    return {'activity', '-', removed, 0}
  end
  return {'sinks', reply[1], removed, 0}
end

local entries = redis.call('XRANGE', KEYS[2], cursor, '+', 'COUNT', batch)
local removed = 0
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'i' then
      if fields[i + 1] == id then
        redis.call('XDEL', KEYS[2], entry[1])
        removed = removed + 1
      end
      break
    end
  end
end
if #entries < batch then
  return {'', '', 0, removed}
end
return {'activity', '(' .. entries[#entries][1], 0, removed}
