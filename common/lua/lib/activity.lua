-- Appends a record to the activity stream that the inspector's live feed
-- follows, and to the integration's own copy, which gives the inspector
-- an integration's recent records however busy the others are. The copy
-- takes the same id, so the feed's ids hold for both.
-- A string, so no command formats the number again.
local HG_ACTIVITY_PER_INTEGRATION = '10000'

local function hg_activity(global_key, integration, record, maxlen)
  local id = redis.call('XADD', global_key, 'MAXLEN', '~', maxlen, '*',
                        'i', integration, 'j', record)
  local own = 'hg:{' .. integration .. '}:activity'
  local ok = redis.pcall('XADD', own, 'MAXLEN', '~',
                         HG_ACTIVITY_PER_INTEGRATION, id, 'j', record)
  if type(ok) == 'table' and ok.err then
    -- Only a stream recreated with lower ids gets here; keep the record.
    redis.call('XADD', own, 'MAXLEN', '~', HG_ACTIVITY_PER_INTEGRATION, '*',
               'j', record)
  end
  return id
end
