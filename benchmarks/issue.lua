-- wrk script: a kiosk issuing tickets (POST /api/v1/tickets) round-robin over the services.
-- Reads BENCH_TOKEN (kiosk device token) and BENCH_SERVICES ("a,b,c") from the environment.
-- Prints one JSON line, prefixed "BENCH_RESULT ", with requests, status counts and latency.

local token = os.getenv("BENCH_TOKEN") or ""
local services = {}
for code in string.gmatch(os.getenv("BENCH_SERVICES") or "a", "[^,]+") do
  services[#services + 1] = code
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

local counter = 0
local non2xx = 0
local statuses = {}

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local service = services[(counter % #services) + 1]
  return wrk.format(nil, nil, nil, '{"service":"' .. service .. '"}')
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    local seen = thread:get("statuses") or {}
    for status, n in pairs(seen) do
      by_status[#by_status + 1] = '"' .. status .. '":' .. n
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"statuses":{%s},' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, bad, table.concat(by_status, ","),
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
