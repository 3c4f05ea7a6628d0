-- Reads activity entries after a given id for a reconnecting feed client,
-- and tells whether entries after that id were already trimmed, in which
-- case the client must reload instead of resuming.
-- KEYS: 1 activity stream
-- ARGV: 1 last id the client saw, 2 maximum entries
-- Returns {"reset"} or {"ok", {entries as XRANGE returns them}}
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  if not dash then
    return tonumber(id), 0
  end
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

local function after(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams > bms or (ams == bms and aseq > bseq)
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' and after(info[i + 1], ARGV[1]) then
      return {'reset'}
    end
  end
end
return {'ok', redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT',
                         tonumber(ARGV[2]))}
