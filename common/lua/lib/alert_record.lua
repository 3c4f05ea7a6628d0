-- Alert records: hg:{I}:alert:<id> hashes with the fields id,
-- integration_id, endpoint_id ("" for the integration as a whole), rule
-- (error_rate or p95_latency), state (triggered or resolved), threshold,
-- value (when it triggered), window_s, triggered_at, resolved_at ("" while
-- active) and last_value (at the latest evaluation), listed newest first
-- in hg:{I}:alerts.

-- Returns the JSON text of an alert from its fields (a table by name), in
-- the shape of the alerts route and of the alert.* events.
local function hg_alert_json(a)
  local function number(v)
    return cjson.encode(tonumber(v) or 0)
  end
  local function text_or_null(v)
    if v == nil or v == '' then
      return 'null'
    end
    return cjson.encode(v)
  end
  return '{"id":' .. cjson.encode(a.id) ..
    ',"integration_id":' .. cjson.encode(a.integration_id) ..
    ',"endpoint_id":' .. text_or_null(a.endpoint_id) ..
    ',"rule":' .. cjson.encode(a.rule) ..
    ',"state":' .. cjson.encode(a.state) ..
    ',"threshold":' .. number(a.threshold) ..
    ',"value":' .. number(a.value) ..
    ',"window_s":' .. number(a.window_s) ..
    ',"triggered_at":' .. cjson.encode(a.triggered_at) ..
    ',"resolved_at":' .. text_or_null(a.resolved_at) ..
    ',"last_value":' .. number(a.last_value) .. '}'
end

-- Reads an alert hash into a table by field name; nil when it is gone.
local function hg_alert_load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then
    return nil
  end
  local a = {}
  for i = 1, #flat, 2 do
    a[flat[i]] = flat[i + 1]
  end
  return a
end
