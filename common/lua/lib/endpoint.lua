-- Endpoint health shared by the dispatcher's scripts: the circuit breaker,
-- automatic disabling, and the operational event endpoint.disabled.
-- Health lives in hg:{I}:ep:<id>:health: failures (consecutive), state
-- (closed or open), next_probe_ms, probe_interval_ms, probe_until_ms,
-- failing_since_ms.

-- Stores an operational event (endpoint.disabled, alert.triggered,
-- alert.resolved) and queues its delivery to the integration's operational
-- endpoint. Nothing is stored when there is no operational endpoint, when
-- it is not enabled, or when it is skip_endpoint_id. data_json is the JSON
-- text of the event's "data" object. op holds: event_id, now_ms, now_iso,
-- work_key, retention. Returns true when the event was queued.
local function hg_operational_event(integration, event_type, data_json,
                                    skip_endpoint_id, op)
  local prefix = hg_prefix(integration)
  local target = redis.call('HGET', prefix .. 'integration',
                            'operational_endpoint_id') or ''
  if target == '' or target == skip_endpoint_id or
     redis.call('HGET', prefix .. 'ep:' .. target, 'status') ~= 'enabled' then
    return false
  end
  local payload = '{"type":' .. cjson.encode(event_type) .. ',"id":' ..
    cjson.encode(op.event_id) .. ',"created_at":' .. cjson.encode(op.now_iso) ..
    ',"data":' .. data_json .. '}'
  local delivery_id = 'dlv_' .. string.sub(op.event_id, 5) .. '_0'
  local event_key = prefix .. 'evt:' .. op.event_id
  redis.call('HSET', event_key, 'id', op.event_id, 'type', event_type,
             'received_at', op.now_iso, 'received_ms', op.now_ms,
             'payload', payload, 'correlation_id', '', 'traceparent', '',
             'test', '0', 'operational', '1', 'deliveries', delivery_id)
  redis.call('EXPIRE', event_key, op.retention)
  redis.call('HSET', prefix .. 'dlv:' .. delivery_id, 'id', delivery_id,
             'event_id', op.event_id, 'endpoint_id', target,
             'status', 'pending', 'attempt_count', '0', 'retry_index', '0',
             'test', '0', 'created_at', op.now_iso, 'created_ms', op.now_ms,
             'updated_at', op.now_iso)
  redis.call('EXPIRE', prefix .. 'dlv:' .. delivery_id, op.retention)
  redis.call('ZADD', prefix .. 'dlvidx', 0, delivery_id)
  redis.call('SADD', prefix .. 'ep:' .. target .. ':pending', delivery_id)
  hg_event_index_add(prefix .. 'events', op.now_ms, op.event_id,
                     event_type)
  redis.call('XADD', op.work_key, '*', 'i', integration, 'd', delivery_id)
  return true
end

-- Disables an endpoint, ends up to 1000 of its unfinished deliveries as
-- dead (the rest end when the dispatcher reaches them), and queues an
-- endpoint.disabled event to the integration's operational endpoint.
-- op holds: event_id, now_ms, now_iso, work_key, activity_key, maxlen,
-- retention.
local function hg_disable_endpoint(integration, endpoint_id, reason, op)
  local prefix = hg_prefix(integration)
  local ep_key = prefix .. 'ep:' .. endpoint_id
  if redis.call('HGET', ep_key, 'status') ~= 'enabled' then
    return
  end
  redis.call('HSET', ep_key, 'status', 'disabled', 'disabled_reason', reason,
             'updated_at', op.now_iso)
  redis.call('HSET', prefix .. 'endpoints', endpoint_id,
             'disabled ' .. (redis.call('HGET', ep_key, 'filters') or ''))
  redis.call('INCR', prefix .. 'epver')
  redis.call('DEL', ep_key .. ':health')
  -- Recorded like a change through the API, with hookgate as the actor.
  redis.call('XADD', prefix .. 'audit', 'MAXLEN', '~', 100000, '*',
             'a', 'endpoint.disable', 'u', 'hookgate', 'j',
             '{"at":' .. cjson.encode(op.now_iso) ..
             ',"actor":"hookgate","action":"endpoint.disable","target":' ..
             cjson.encode(endpoint_id) .. ',"request_id":"",' ..
             '"integration_id":' .. cjson.encode(integration) ..
             ',"details":{"reason":' .. cjson.encode(reason) .. '}}')
  local pending = redis.call('SRANDMEMBER', prefix .. 'ep:' .. endpoint_id ..
                             ':pending', 1000)
  for _, delivery_id in ipairs(pending) do
    hg_end_delivery(integration, prefix .. 'dlv:' .. delivery_id,
                    'endpoint_disabled', op.now_iso, op.activity_key,
                    op.maxlen)
  end

  -- The operational event goes to the integration's chosen endpoint,
  -- unless that is the endpoint being disabled.
  hg_operational_event(integration, 'endpoint.disabled',
                       '{"integration_id":' .. cjson.encode(integration) ..
                       ',"endpoint_id":' .. cjson.encode(endpoint_id) ..
                       ',"reason":' .. cjson.encode(reason) .. '}',
                       endpoint_id, op)
end

-- Updates the breaker after a real attempt. cfg contains failures (threshold),
-- probe_ms, probe_max_ms, disable_after_ms. Only a failed probe lengthens
-- the wait for the next one; attempts that were already in flight when the
-- circuit opened only count. Returns the action taken: "", "opened",
-- "closed" or "disabled".
local function hg_endpoint_health(integration, endpoint_id, ok, now, cfg, op,
                                  probe)
  local key = hg_prefix(integration) .. 'ep:' .. endpoint_id .. ':health'
  local h = redis.call('HMGET', key, 'failures', 'state', 'probe_interval_ms',
                       'failing_since_ms')
  if ok then
    -- Most endpoints have no health record; deleting a missing key would
    -- still cost a command.
    if h[1] or h[2] or h[3] or h[4] then
      redis.call('DEL', key)
    end
    return h[2] == 'open' and 'closed' or ''
  end
  local failures = tonumber(h[1] or '0') + 1
  local since = tonumber(h[4] or '0')
  if since == 0 then
    since = now
  end
  local fields = {'failures', failures, 'failing_since_ms', since}
  local action = ''
  if h[2] == 'open' and not probe then
    action = ''
  elseif h[2] == 'open' then
    -- A failed probe: wait longer before the next one.
    local interval = math.min(tonumber(h[3] or cfg.probe_ms) * 2,
                              cfg.probe_max_ms)
    for _, v in ipairs({'probe_interval_ms', interval, 'next_probe_ms',
                        now + interval, 'probe_until_ms', 0}) do
      fields[#fields + 1] = v
    end
  elseif failures >= cfg.failures then
    action = 'opened'
    for _, v in ipairs({'state', 'open', 'probe_interval_ms', cfg.probe_ms,
                        'next_probe_ms', now + cfg.probe_ms,
                        'probe_until_ms', 0}) do
      fields[#fields + 1] = v
    end
  end
  redis.call('HSET', key, unpack(fields))
  if cfg.disable_after_ms > 0 and now - since >= cfg.disable_after_ms then
    hg_disable_endpoint(integration, endpoint_id, 'failing', op)
    redis.call('DEL', key)
    return 'disabled'
  end
  return action
end

-- Books a slot in a generic cell rate algorithm bucket of rate deliveries
-- per second, with a burst of one second's worth. The theoretical arrival
-- time always advances, so a delivery that cannot go now books the next
-- free slot instead of polling for one. Returns 0 to go now, or the
-- milliseconds until the booked slot.
local function hg_rate_reserve(key, now, rate)
  local interval = 1000 / rate
  local tat = math.max(tonumber(redis.call('GET', key) or '0') or 0, now)
  local allowed_at = tat - (1000 - interval)
  local new_tat = tat + interval
  redis.call('SET', key, string.format('%.3f', new_tat), 'PX',
             math.ceil(new_tat - now) + 1000)
  return math.max(0, math.ceil(allowed_at - now))
end

-- Returns the member of an attempt in the endpoint's lease set: the
-- delivery id for a scheduled attempt, and for a manual attempt the id with
-- " m" and its work entry id. So a manual attempt takes a slot of its own
-- even while another attempt of the same delivery is in flight, and a
-- worker that claims the same work entry again takes over its lease.
local function hg_lease_member(delivery_id, manual, entry_id)
  if manual then
    return delivery_id .. ' m' .. entry_id
  end
  return delivery_id
end

-- Decides whether a delivery to an endpoint may go now: the breaker lets
-- one probe through when open, the concurrency cap counts leases, and the
-- rate limit books slots. Returns 0 to go (taking a lease until
-- lease_until), or the milliseconds to wait and why: "breaker" or "cap"
-- (the caller parks the delivery until it is woken) or "rate". A third
-- value is true when the delivery goes as the open breaker's probe.
local function hg_endpoint_admit(integration, endpoint_id, lease_member,
                                 delivery_key, now, lease_until,
                                 max_concurrency, rate, manual)
  local prefix = hg_prefix(integration) .. 'ep:' .. endpoint_id
  local h = redis.call('HMGET', prefix .. ':health', 'state', 'next_probe_ms',
                       'probe_until_ms')
  local probe = false
  if h[1] == 'open' and not manual then
    local next_probe = tonumber(h[2] or '0')
    local probe_until = tonumber(h[3] or '0')
    if now < next_probe or probe_until > now then
      -- Held deliveries are parked too: closing the breaker wakes them.
      return math.max(math.max(next_probe, probe_until) - now, 1000),
             'breaker'
    end
    probe = true
  end
  local leases = prefix .. ':leases'
  -- Expired leases are those of workers that died holding them. They are
  -- dropped only where they could fill the cap, and when the set's expiry
  -- is pushed below, because a count under the cap needs no trimming.
  if max_concurrency > 0 and
     redis.call('ZCARD', leases) >= max_concurrency then
    redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
    if redis.call('ZCARD', leases) >= max_concurrency and
       redis.call('ZSCORE', leases, lease_member) == false then
      -- Waits until a lease is released. The lease length bounds the
      -- wait when a worker died holding one.
      return lease_until - now, 'cap'
    end
  end
  if rate > 0 then
    local booked = tonumber(redis.call('HGET', delivery_key, 'rate_slot_ms')
                            or '0')
    if booked > now then
      return booked - now, 'rate'
    elseif booked > 0 then
      redis.call('HDEL', delivery_key, 'rate_slot_ms')
    else
      local wait = hg_rate_reserve(prefix .. ':rl', now, rate)
      if wait > 0 then
        redis.call('HSET', delivery_key, 'rate_slot_ms', now + wait)
        return wait, 'rate'
      end
    end
  end
  if probe then
    redis.call('HSET', prefix .. ':health', 'probe_until_ms', lease_until)
  end
  redis.call('ZADD', leases, lease_until, lease_member)
  -- The set outlives its newest lease by 30 to 60 s. Pushing its expiry
  -- only when less than 30 s of that margin is left saves a write to the
  -- AOF for most deliveries.
  if redis.call('PTTL', leases) < lease_until - now + 30000 then
    redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
    redis.call('PEXPIREAT', leases, lease_until + 60000)
  end
  return 0, '', probe
end

-- Parks a delivery that waits for a concurrency slot or for the breaker to
-- close; member is its schedule entry, which stays as the fallback.
local function hg_endpoint_park(integration, endpoint_id, member, now,
                                expire_ms)
  local key = hg_prefix(integration) .. 'ep:' .. endpoint_id .. ':waiting'
  redis.call('ZADD', key, 'NX', now, member)
  redis.call('PEXPIRE', key, expire_ms)
end

-- Moves up to count parked deliveries, longest waiting first, from the
-- schedule to the work stream at once. Only a member still in the schedule
-- is moved, so a delivery is never queued twice.
local function hg_endpoint_wake(integration, endpoint_id, sched_key, work_key,
                                count)
  local key = hg_prefix(integration) .. 'ep:' .. endpoint_id .. ':waiting'
  while count > 0 do
    local popped = redis.call('ZPOPMIN', key)
    if #popped == 0 then
      return
    end
    if redis.call('ZREM', sched_key, popped[1]) == 1 then
      local _, waiting_id, manual = hg_member_parts(popped[1])
      local status = waiting_id and
        redis.call('HGET', hg_prefix(integration) .. 'dlv:' .. waiting_id,
                   'status')
      -- A scheduled attempt of a delivery that ended meanwhile would waste
      -- the slot, but a manual attempt goes whatever the status.
      if status and (manual or (status ~= 'succeeded' and status ~= 'dead')) then
        hg_queue_member(work_key, popped[1])
        count = count - 1
      end
    end
  end
end

-- Releases an attempt's concurrency lease (see hg_lease_member) and hands
-- the slot to the delivery that has waited longest.
local function hg_endpoint_release(integration, endpoint_id, lease_member,
                                   sched_key, work_key)
  local leases = hg_prefix(integration) .. 'ep:' .. endpoint_id .. ':leases'
  if redis.call('ZREM', leases, lease_member) == 1 then
    hg_endpoint_wake(integration, endpoint_id, sched_key, work_key, 1)
  end
end
