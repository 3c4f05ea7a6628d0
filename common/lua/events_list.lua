-- Reads one page of an integration's events, newest first.
-- KEYS: 1 event index stream, 2 integration hash
-- ARGV: 1 newest stream id to include ("+", or "(<id>" after a cursor),
--       2 oldest stream id ("-" for none), 3 page size, 4 type filter
--       ("" for all, an exact type, or "prefix.*")
-- Returns nil when the integration does not exist, else
--   {next cursor or "", stream id, event id, type, received_ms or "",
--   ...}. received_ms is "" when the stream id starts with it. The cursor
--   is the last event of the page when another event matches after it.
--   It is the last entry examined when the scan limit stopped the page
--   early, and "" when nothing older matches.
local SCAN_MAX = 10000
local BATCH = 500
if redis.call('EXISTS', KEYS[2]) == 0 then
  return false
end
local limit = tonumber(ARGV[3])
local filter = ARGV[4]
local prefix = nil
if string.sub(filter, -2) == '.*' then
  prefix = string.sub(filter, 1, -2)
end
local out = {''}
local from = ARGV[1]
local scanned = 0
local last = nil
while scanned < SCAN_MAX do
  local count = math.min(BATCH, SCAN_MAX - scanned)
  local batch = redis.call('XREVRANGE', KEYS[1], from, ARGV[2], 'COUNT',
                           count)
  for _, entry in ipairs(batch) do
    scanned = scanned + 1
    local f = entry[2]
    local event_id, type = f[2], f[4]
    local received_ms = f[5] == 'r' and f[6] or ''
    local match = filter == '' or type == filter or
                  (prefix and string.sub(type, 1, #prefix) == prefix)
    if match then
      -- A match after a full page: the next page starts after this page.
      if (#out - 1) / 4 == limit then
        out[1] = out[#out - 3]
        return out
      end
      out[#out + 1] = entry[1]
      out[#out + 1] = event_id
      out[#out + 1] = type
      out[#out + 1] = received_ms
    end
    last = entry[1]
    from = '(' .. entry[1]
  end
  if #batch < count then
    return out
  end
end
-- The scan limit stopped the page: the client continues after the last
-- entry examined, unless no older entry is left.
if #redis.call('XREVRANGE', KEYS[1], from, ARGV[2], 'COUNT', 1) > 0 then
  out[1] = last
end
return out
