-- Delivery state changes shared by the dispatcher's scripts. Keys are
-- derived from the integration id; they share its hash tag.

local function hg_prefix(integration)
  return 'hg:{' .. integration .. '}:'
end

-- Ordered delivery. An endpoint with an ordering key (a JSON Pointer into
-- the payload) puts each delivery whose event has a value there into a
-- lane: a list per (endpoint, value) in publish order. Only the head of a
-- lane is in a work stream and the rest wait in the list. A failing head
-- therefore delays its own key and nothing else. Laned delivery hashes carry
-- "lane" (the list key) and "wk" (their work stream).

-- Returns the string at a JSON Pointer in a decoded document, or nil when
-- it is missing, null, an object or an array. Numbers and booleans give
-- their JSON text.
local function hg_pointer_value(doc, pointer)
  if string.sub(pointer, 1, 1) ~= '/' then
    return nil
  end
  local node = doc
  for token in string.gmatch(string.sub(pointer, 2) .. '/', '([^/]*)/') do
    token = string.gsub(string.gsub(token, '~1', '/'), '~0', '~')
    if type(node) ~= 'table' then
      return nil
    end
    local child = node[token]
    if child == nil and string.match(token, '^%d+$') then
      child = node[tonumber(token) + 1]
    end
    node = child
  end
  local kind = type(node)
  if kind == 'string' then
    return node
  elseif kind == 'number' or kind == 'boolean' then
    return cjson.encode(node)
  end
  return nil
end

-- Adds a delivery to its lane. Returns true when it is the head, which
-- the caller queues now.
local function hg_lane_join(integration, lane, delivery_key, delivery_id,
                            work_key, retention)
  -- A head whose record expired (held past the retention, for example by
  -- an open breaker) would block the lane for good: drop it and queue the
  -- next one.
  local prefix = hg_prefix(integration)
  local head = redis.call('LINDEX', lane, 0)
  local dropped = false
  while head and redis.call('EXISTS', prefix .. 'dlv:' .. head) == 0 do
    redis.call('LPOP', lane)
    dropped = true
    head = redis.call('LINDEX', lane, 0)
  end
  if dropped and head then
    local wk = redis.call('HGET', prefix .. 'dlv:' .. head, 'wk')
    if wk then
      redis.call('XADD', wk, '*', 'i', integration, 'd', head)
    end
  end
  redis.call('HSET', delivery_key, 'lane', lane, 'wk', work_key)
  local len = redis.call('RPUSH', lane, delivery_id)
  redis.call('EXPIRE', lane, retention)
  return len == 1
end

-- Takes a finished delivery out of its lane and, when it was the head,
-- queues the next one that still exists.
local function hg_lane_leave(integration, delivery_key)
  local f = redis.call('HMGET', delivery_key, 'lane', 'id')
  if not f[1] or f[1] == '' then
    return
  end
  local lane = f[1]
  local head = redis.call('LINDEX', lane, 0)
  redis.call('LREM', lane, 1, f[2])
  redis.call('HSET', delivery_key, 'lane', '')
  if head ~= f[2] then
    return
  end
  local prefix = hg_prefix(integration)
  while true do
    local next_id = redis.call('LINDEX', lane, 0)
    if not next_id then
      return
    end
    local n = redis.call('HMGET', prefix .. 'dlv:' .. next_id, 'wk', 'status')
    if n[1] and n[2] ~= 'succeeded' and n[2] ~= 'dead' then
      redis.call('XADD', n[1], '*', 'i', integration, 'd', next_id)
      return
    end
    -- An expired delivery, or one already ended by hand, leaves the lane.
    redis.call('LPOP', lane)
  end
end

-- Ends an unfinished delivery as dead with a reason, and records that on
-- the activity stream. Returns false when it had already ended.
local function hg_end_delivery(integration, delivery_key, reason, now_iso,
                               activity_key, maxlen)
  local d = redis.call('HMGET', delivery_key, 'id', 'event_id',
                       'endpoint_id', 'status')
  if not d[1] or d[4] == 'succeeded' or d[4] == 'dead' then
    return false
  end
  redis.call('HSET', delivery_key, 'status', 'dead', 'reason', reason,
             'next_attempt_at', '', 'updated_at', now_iso)
  local prefix = hg_prefix(integration)
  redis.call('SREM', prefix .. 'ep:' .. d[3] .. ':pending', d[1])
  redis.call('ZREM', prefix .. 'ep:' .. d[3] .. ':leases', d[1])
  hg_lane_leave(integration, delivery_key)
  hg_activity(activity_key, integration,
              '{"kind":"delivery","integration_id":' ..
              cjson.encode(integration) .. ',"delivery_id":' ..
              cjson.encode(d[1]) .. ',"event_id":' .. cjson.encode(d[2]) ..
              ',"endpoint_id":' .. cjson.encode(d[3]) ..
              ',"status":"dead","reason":' .. cjson.encode(reason) .. '}',
              maxlen)
  return true
end

-- Acknowledges a work entry ("" for none), and deletes it unless harmless
-- says a recreated consumer group, which reads from id 0, would only skip
-- it. Kept entries go when promote_due.lua trims whole stream nodes, which
-- costs Redis less than an XDEL per entry.
local function hg_ack(work_key, group, entry_id, harmless)
  if entry_id ~= '' then
    redis.call('XACK', work_key, group, entry_id)
    if not harmless then
      redis.call('XDEL', work_key, entry_id)
    end
  end
end
