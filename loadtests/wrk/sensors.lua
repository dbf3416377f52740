-- wrk script: no-wait nodes posting one reading per request to the edge agent's /sensors,
-- like the locustfile's NoWaitNodeUser and the paper's k6 virtual users. Run by
-- `python -m loadtests run --target gateway --generator wrk` (loadtests/runner.py), which sets:
--   WRK_NODES  how many node ids the requests cycle through (the stage's user count)
--   WRK_BOOT   the boot number, fresh for each wrk process so no (node, boot, seq) repeats
--   LOADTEST_PROFILE  orchid (scored by the agent's fuzzy engine) or rice
--   WRK_VALUES the file of values objects to post, one JSON object a line
-- At the end it prints one line "WRK-JSON {...}" with the counts and latency percentiles (µs).

local nodes = tonumber(os.getenv("WRK_NODES") or "100")
local boot = tonumber(os.getenv("WRK_BOOT") or "1")
local profile = os.getenv("LOADTEST_PROFILE") or "orchid"
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

-- the readings' values: one JSON object a line, written by the runner from
-- loadtests/payloads.py (the same generator locust's users post), cycled through
local values = {}
for line in io.lines(os.getenv("WRK_VALUES")) do
  values[#values + 1] = line
end

request = function()
  counter = counter + 1
  local node = string.format("wrk-%04d", counter % nodes)
  local seq = math.floor(counter / nodes) + 1
  local body = string.format('{"node_id":"%s","boot":%d,"seq":%d,"profile":"%s","values":%s}',
    node, boot, seq, profile, values[counter % #values + 1])
  return wrk.format(nil, "/sensors", nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"timeouts":%d,"mean_us":%.1f,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
