-- Reads one page of an integration's deliveries, newest first, with
-- optional filters. Delivery ids sort by the time of their event.
-- KEYS: 1 delivery index (sorted set by id)
-- ARGV: 1 integration id, 2 upper bound ("+", or "(<id>" after a cursor,
--       or "(dlv_<time>" for a time), 3 lower bound ("-" or "[dlv_<time>"),
--       4 page size, 5 endpoint id ("" for all), 6 status ("" for all)
-- Returns {next cursor or "", {fields...}, ...}
local limit = tonumber(ARGV[4])
local prefix = 'hg:{' .. ARGV[1] .. '}:dlv:'
local out = {''}
local upper = ARGV[2]
local scanned = 0
while scanned < 10000 do
  local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], upper, ARGV[3], 'LIMIT',
                         0, 500)
  if #ids == 0 then
    break
  end
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
        out[#out + 1] = d
        if #out - 1 == limit then
          out[1] = id
          return out
        end
      end
    end
    upper = '(' .. id
  end
end
return out
