-- Appends an event to an integration's event index. The entry's id starts
-- with the event's received_ms, so the events list shows the event's own
-- time. When the newest entry is later (a publish received later but run
-- first, or a process whose clock runs ahead), the entry takes Redis's
-- next id, which keeps the index ordered, and stores the time in 'r'.
-- received_ms is in milliseconds (a number or its digits). min_id, when
-- given, trims the entries older than it.
local function hg_event_index_add(key, received_ms, event_id, event_type,
                                  min_id)
  local args = {key}
  if min_id then
    args = {key, 'MINID', '~', min_id}
  end
  local n = #args
  local ms = string.format('%d', tonumber(received_ms))
  args[n + 1] = ms .. '-*'
  args[n + 2], args[n + 3], args[n + 4], args[n + 5] =
    'e', event_id, 't', event_type
  local ok = redis.pcall('XADD', unpack(args))
  if type(ok) == 'table' and ok.err then
    args[n + 1] = '*'
    args[n + 6], args[n + 7] = 'r', ms
    redis.call('XADD', unpack(args))
  end
end
