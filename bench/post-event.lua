-- wrk script: POST the 600-byte booking.created event of event.json with a
-- unique body id per request. The first script argument, when given, is the
-- Authorization header value:
--   wrk ... -s bench/post-event.lua URL -- 'Bearer <key>'
-- wrk has no millisecond clock, so sent_at_ms is a constant of the same width.
local path = os.getenv("BENCH_EVENT") or "bench/event.json"
local f = assert(io.open(path, "r"))
local template = f:read("*a"):gsub("%s+$", ""):gsub("__TS__", "1765000000000.000")
f:close()
local before, after = template:match("^(.-)__ID__(.*)$")
assert(before and after, "event template must contain __ID__")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  if args and args[1] and args[1] ~= "" then
    wrk.headers["Authorization"] = args[1]
  end
end

local n = 0
local salt = string.format("%08x", (os.time() * 7919) % 4294967296)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  n = n + 1
  local id = string.format("evt_wrk%02d_%s_%010d", tid or 0, salt, n)
  return wrk.format(nil, nil, nil, before .. id .. after)
end
