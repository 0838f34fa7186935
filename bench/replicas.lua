-- wrk script of bench/replicas_bench.py: sends every request with a bearer
-- token and spreads wrk's threads over the API replicas listed in
-- BENCH_TARGETS ("host:port,host:port"; thread i talks to target i mod n), so
-- one wrk run measures one or several replicas with one latency histogram.
-- done() prints one line `WRK_JSON {...}`: latencies in microseconds, the
-- responses outside 2xx, wrk's socket errors, and the responses per target.

local targets = {}
for target in string.gmatch(os.getenv("BENCH_TARGETS") or "", "[^,]+") do
  table.insert(targets, target)
end

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.headers["Accept"] = "application/json"

local threads = {}

function setup(thread)
  local i = #threads + 1
  threads[i] = thread
  local target = "default"
  if #targets > 0 then
    target = targets[(i - 1) % #targets + 1]
    local host, port = string.match(target, "^(.+):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
  thread:set("target", target)
end

function init(args)
  responses = 0
  non2xx = 0
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local per_target, order = {}, {}
  local non = 0
  for _, thread in ipairs(threads) do
    local target = thread:get("target")
    if per_target[target] == nil then
      per_target[target] = 0
      table.insert(order, target)
    end
    per_target[target] = per_target[target] + thread:get("responses")
    non = non + thread:get("non2xx")
  end
  local parts = {}
  for _, target in ipairs(order) do
    table.insert(parts, string.format('"%s":%.0f', target, per_target[target]))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f,' ..
    '"non2xx":%.0f,"connect_errors":%.0f,"read_errors":%.0f,"write_errors":%.0f,' ..
    '"timeouts":%.0f,"status_errors":%.0f,"per_target":{%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    non, e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ",")))
end
