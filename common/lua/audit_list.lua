-- Reads audit records newest first, filtered by action prefix and actor.
-- KEYS: 1 audit stream
-- ARGV: 1 newest id to include ("+" for now, or "(<id>" after a cursor),
--       2 oldest id ("-" for none), 3 page size, 4 action prefix ("" for
--       all), 5 actor ("" for all)
-- Returns {next cursor or "", record JSON...}
local limit = tonumber(ARGV[3])
local out = {''}
local from = ARGV[1]
local scanned = 0
while #out - 1 < limit and scanned < 10000 do
  local batch = redis.call('XREVRANGE', KEYS[1], from, ARGV[2], 'COUNT', 200)
  if #batch == 0 then
    break
  end
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
      out[#out + 1] = record
      if #out - 1 == limit then
        out[1] = entry[1]
        return out
      end
    end
    from = '(' .. entry[1]
  end
end
return out
