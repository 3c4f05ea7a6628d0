-- Looks up one integration for the inspector's search: an event by id, the
-- event of a delivery, or the events of a correlation id (the X-Request-Id
-- of their publish request, indexed by publish.lua).
-- KEYS: 1 event hash ("event"), delivery hash ("delivery") or correlation
--       set ("correlation")
-- ARGV: 1 integration id, 2 kind, 3 maximum number of events
-- Returns {event id, type, received_at, ...} for the events found; events
--   that expired are left out
local prefix = 'hg:{' .. ARGV[1] .. '}:'
local kind = ARGV[2]
local max = tonumber(ARGV[3])
local event_ids = {}
if kind == 'event' then
  event_ids = {string.sub(KEYS[1], #prefix + 5)}
elseif kind == 'delivery' then
  local event_id = redis.call('HGET', KEYS[1], 'event_id')
  if event_id then
    event_ids = {event_id}
  end
elseif kind == 'correlation' then
  -- SRANDMEMBER bounds the work when a client reused one X-Request-Id for
  -- many publishes.
  event_ids = redis.call('SRANDMEMBER', KEYS[1], max)
end
local out = {}
for _, event_id in ipairs(event_ids) do
  local e = redis.call('HMGET', prefix .. 'evt:' .. event_id, 'id', 'type',
                       'received_at')
  if e[1] then
    out[#out + 1] = e[1]
    out[#out + 1] = e[2] or ''
    out[#out + 1] = e[3] or ''
  end
end
return out
