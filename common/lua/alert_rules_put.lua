-- Stores the alert rules an integration overrides and returns all of them.
-- KEYS: 1 integration hash, 2 rules hash (hg:{I}:alertrules)
-- ARGV: field and value pairs (already checked by the gateway); an empty
--       value removes the field's override
-- Returns {"ok", field, value, ...} with every stored override, or
--   {"missing"} when the integration does not exist
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local set, removed = {}, {}
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    removed[#removed + 1] = ARGV[i]
  else
    set[#set + 1] = ARGV[i]
    set[#set + 1] = ARGV[i + 1]
  end
end
if #set > 0 then
  redis.call('HSET', KEYS[2], unpack(set))
end
if #removed > 0 then
  redis.call('HDEL', KEYS[2], unpack(removed))
end
local out = {'ok'}
for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do
  out[#out + 1] = v
end
return out
