-- Reads the counters a metrics series needs from several minute or hour
-- hashes of one integration, one row per hash in KEYS order.
-- KEYS: the hashes, oldest first (missing ones read as zeros)
-- ARGV: the fields to read, such as ev, d_ok, d_fail, d_dead, dl:0 ... dl:15
-- Returns one array of integers per key, in ARGV order.
local out = {}
for k, key in ipairs(KEYS) do
  local values = redis.call('HMGET', key, unpack(ARGV))
  local row = {}
  for i = 1, #ARGV do
    row[i] = tonumber(values[i]) or 0
  end
  out[k] = row
end
return out
