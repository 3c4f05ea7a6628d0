-- Reads one page of an integration's events, newest first.
-- KEYS: 1 event index stream
-- ARGV: 1 newest stream id to include ("+", or "(<id>" after a cursor),
--       2 oldest stream id ("-" for none), 3 page size, 4 type filter
--       ("" for all, an exact type, or "prefix.*")
-- Returns {next cursor or "", stream id, event id, type, ...}
local limit = tonumber(ARGV[3])
local filter = ARGV[4]
local prefix = nil
if string.sub(filter, -2) == '.*' then
  prefix = string.sub(filter, 1, -2)
end
local out = {''}
local from = ARGV[1]
local scanned = 0
while scanned < 10000 do
  local batch = redis.call('XREVRANGE', KEYS[1], from, ARGV[2], 'COUNT', 500)
  if #batch == 0 then
    break
  end
  for _, entry in ipairs(batch) do
    scanned = scanned + 1
    local f = entry[2]
    local event_id, type = f[2], f[4]
    local match = filter == '' or type == filter or
                  (prefix and string.sub(type, 1, #prefix) == prefix)
    if match then
      out[#out + 1] = entry[1]
      out[#out + 1] = event_id
      out[#out + 1] = type
      if (#out - 1) / 3 == limit then
        out[1] = entry[1]
        return out
      end
    end
    from = '(' .. entry[1]
  end
end
return out
