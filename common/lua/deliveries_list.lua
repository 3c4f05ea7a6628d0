-- Reads one page of an integration's deliveries, newest first, with
-- optional filters. Delivery ids sort by the time of their event.
-- KEYS: 1 delivery index (sorted set by id), 2 integration hash
-- ARGV: 1 integration id, 2 upper bound ("+", or "(<id>" after a cursor,
--       or "(dlv_<time>" for a time), 3 lower bound ("-" or "[dlv_<time>"),
--       4 page size, 5 endpoint id ("" for all), 6 status ("" for all)
-- Returns nil when the integration does not exist, else
--   {next cursor or "", {fields...}, ...}. The cursor is the last delivery
--   of the page when another delivery matches after it. It is the last id
--   examined when the scan limit stopped the page early, and "" when
--   nothing older matches.
local SCAN_MAX = 10000
local BATCH = 500
if redis.call('EXISTS', KEYS[2]) == 0 then
  return false
end
local limit = tonumber(ARGV[4])
local prefix = 'hg:{' .. ARGV[1] .. '}:dlv:'
local out = {''}
local upper = ARGV[2]
local scanned = 0
local last = nil
local page_last = nil
while scanned < SCAN_MAX do
  local count = math.min(BATCH, SCAN_MAX - scanned)
  local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], upper, ARGV[3], 'LIMIT',
                         0, count)
  for _, id in ipairs(ids) do
    scanned = scanned + 1
    local d = redis.call('HGETALL', prefix .. id)
    if #d > 0 then
      local endpoint, status = '', ''
      for i = 1, #d, 2 do
        if d[i] == 'endpoint_id' then endpoint = d[i + 1]
        elseif d[i] == 'status' then status = d[i + 1] end
      end
      if (ARGV[5] == '' or endpoint == ARGV[5]) and
         (ARGV[6] == '' or status == ARGV[6]) then
        -- A match after a full page: the next page starts after this page.
        if #out - 1 == limit then
          out[1] = page_last
          return out
        end
        out[#out + 1] = d
        page_last = id
      end
    end
    last = id
    upper = '(' .. id
  end
  if #ids < count then
    return out
  end
end
-- The scan limit stopped the page: the client continues after the last
-- id examined, unless no older id is left.
local rest = redis.call('ZREVRANGEBYLEX', KEYS[1], upper, ARGV[3], 'LIMIT',
                        0, 1)
if #rest > 0 then
  out[1] = last
end
return out
