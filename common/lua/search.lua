-- Looks up one integration for the inspector's search: an event by id, the
-- event of a delivery, or, for any other text, the events of a correlation
-- id (the X-Request-Id of their publish request, indexed by publish.lua)
-- and the newest events whose payload contains the text.
-- KEYS: 1 event hash ("event"), delivery hash ("delivery") or correlation
--       set ("text")
-- ARGV: 1 integration id, 2 kind, 3 maximum number of events,
--       4 text to find in payloads ("text"), 5 number of newest events whose
--       payloads are read ("text"; 0: none), 6 "1" when the text can be a
--       correlation id
-- Returns {event id, type, received_at, matched, ...} for the events found,
--   where matched is "event_id", "delivery_id", "correlation_id" or
--   "payload"; events that expired are left out
local prefix = 'hg:{' .. ARGV[1] .. '}:'
local kind = ARGV[2]
local max = tonumber(ARGV[3])
local found = {}
local seen = {}

local function add(event_id, matched)
  if seen[event_id] or #found >= max * 4 then
    return
  end
  local e = redis.call('HMGET', prefix .. 'evt:' .. event_id, 'id', 'type',
                       'received_at')
  if e[1] then
    seen[event_id] = true
    found[#found + 1] = e[1]
    found[#found + 1] = e[2] or ''
    found[#found + 1] = e[3] or ''
    found[#found + 1] = matched
  end
end

if kind == 'event' then
  add(string.sub(KEYS[1], #prefix + 5), 'event_id')
elseif kind == 'delivery' then
  local event_id = redis.call('HGET', KEYS[1], 'event_id')
  if event_id then
    add(event_id, 'delivery_id')
  end
elseif kind == 'text' then
  if ARGV[6] == '1' then
    -- SRANDMEMBER bounds the work when a client reused one X-Request-Id
    -- for many publishes.
    for _, event_id in ipairs(redis.call('SRANDMEMBER', KEYS[1], max)) do
      add(event_id, 'correlation_id')
    end
  end
  local scan = tonumber(ARGV[5])
  if scan > 0 then
    -- The events stream is in publish order, so this reads the newest
    -- payloads first; a plain find (no patterns) of the text.
    local entries = redis.call('XREVRANGE', prefix .. 'events', '+', '-',
                               'COUNT', scan)
    for _, entry in ipairs(entries) do
      local fields = entry[2]
      local event_id
      for i = 1, #fields, 2 do
        if fields[i] == 'e' then
          event_id = fields[i + 1]
        end
      end
      if event_id and not seen[event_id] then
        local payload = redis.call('HGET', prefix .. 'evt:' .. event_id,
                                   'payload')
        if payload and string.find(payload, ARGV[4], 1, true) then
          add(event_id, 'payload')
        end
      end
      if #found >= max * 4 then
        break
      end
    end
  end
end
return found
