-- wrk script: audited reads of `zorgpad serve` with a user's token
-- (docs/performance.md, "HTTP API"; run by scripts/bench-api.sh).
--
--   wrk -t2 -c8 -d10s -s bench/wrk/get.lua 'http://127.0.0.1:PORT/api/episodes?limit=50' -- TOKEN
--
-- The path and query come from the URL. Every request sends
-- Authorization: Bearer TOKEN. Answers other than 2xx are counted and the first
-- is printed: a run with non2xx > 0 is invalid. done() prints one line
-- "WRKJSON {...}" for the driver script.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  assert(args[1], "usage: -- TOKEN")
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  ok2xx, non2xx, bytes, first_error = 0, 0, 0, ""
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
    bytes = bytes + #(body or "")
  else
    non2xx = non2xx + 1
    if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local ok, bad, b, first = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok2xx")
    bad = bad + t:get("non2xx")
    b = b + t:get("bytes")
    local f = t:get("first_error")
    if first == "" and f and f ~= "" then first = f end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"created":%d,"dup":0,"non2xx":%d,"avg_body_bytes":%.0f,' ..
    '"socket_errors":%d,"timeouts":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, secs, summary.requests / secs, ok, bad, ok > 0 and b / ok or 0,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
  if first ~= "" then io.write("WRKERROR " .. string.gsub(first, "\n", " ") .. "\n") end
end
