-- Reads audit records newest first, filtered by action prefix and actor.
-- KEYS: 1 audit stream, 2 integration hash (absent for the global log)
-- ARGV: 1 newest id to include ("+" for now, or "(<id>" after a cursor),
--       2 oldest id ("-" for none), 3 page size, 4 action prefix ("" for
--       all), 5 actor ("" for all)
-- Returns nil when the integration does not exist, else
--   {next cursor or "", record JSON...}. The cursor is the last record of
--   the page when another record matches after it. It is the last entry
--   examined when the scan limit stopped the page early, and "" when
--   nothing older matches.
local SCAN_MAX = 10000
local BATCH = 200
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 0 then
  return false
end
local limit = tonumber(ARGV[3])
local out = {''}
local from = ARGV[1]
local scanned = 0
local last = nil
local page_last = nil
while scanned < SCAN_MAX do
  local count = math.min(BATCH, SCAN_MAX - scanned)
  local batch = redis.call('XREVRANGE', KEYS[1], from, ARGV[2], 'COUNT',
                           count)
  for _, entry in ipairs(batch) do
    scanned = scanned + 1
    local f = entry[2]
    local action, actor, record = '', '', nil
    for i = 1, #f, 2 do
      if f[i] == 'a' then action = f[i + 1]
      elseif f[i] == 'u' then actor = f[i + 1]
      elseif f[i] == 'j' then record = f[i + 1] end
    end
    if record and string.sub(action, 1, #ARGV[4]) == ARGV[4] and
       (ARGV[5] == '' or actor == ARGV[5]) then
      -- A match after a full page: the next page starts after this page.
      if #out - 1 == limit then
        out[1] = page_last
        return out
      end
      out[#out + 1] = record
      page_last = entry[1]
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
