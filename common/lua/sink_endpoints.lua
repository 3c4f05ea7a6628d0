-- Lists the endpoints of an integration that may sign the requests a sink
-- receives: the endpoint named in the sink's config, or else every
-- endpoint whose URL path is the sink's path or the request's path (the
-- host may differ, as a proxy or a test may rename it).
-- KEYS: 1 the integration's endpoint list (sorted set)
-- ARGV: 1 integration id, 2 endpoint id or "", 3 sink path ("/sink/<id>"),
--       4 request path
-- Returns {id, secret, previous secret, previous expiry (ms), ...}; the
-- secrets are sealed as stored.
local prefix = 'hg:{' .. ARGV[1] .. '}:ep:'
-- An integration with more endpoints than this is not searched further.
local SCAN_MAX = 1000
local out = {}

local function add(id)
  local e = redis.call('HMGET', prefix .. id, 'secret', 'previous_secret',
                       'previous_expires_ms')
  if e[1] then
    out[#out + 1] = id
    out[#out + 1] = e[1]
    out[#out + 1] = e[2] or ''
    out[#out + 1] = e[3] or '0'
  end
end

local function path_of(url)
  local rest = string.match(url, '^[%a][%w+.-]*://[^/?#]*(.*)$')
  if not rest then
    return nil
  end
  local path = string.match(rest, '^([^?#]*)')
  if path == '' then
    path = '/'
  end
  return path
end

if ARGV[2] ~= '' then
  add(ARGV[2])
  return out
end
local ids = redis.call('ZRANGE', KEYS[1], 0, SCAN_MAX - 1)
for _, id in ipairs(ids) do
  local url = redis.call('HGET', prefix .. id, 'url')
  local path = url and path_of(url)
  if path == ARGV[3] or path == ARGV[4] then
    add(id)
  end
end
return out
