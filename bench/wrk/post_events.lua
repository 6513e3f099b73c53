-- wrk script: every request is a new durable write through the write API of
-- `zorgpad serve` (docs/performance.md, "HTTP API"; run by scripts/bench-api.sh).
--
--   wrk -t1 -c1 -d10s -s bench/wrk/post_events.lua http://127.0.0.1:PORT -- \
--       MODE TOKEN TAG AT [EPISODES_FILE [PART PARTS]]
--
-- MODE     session: POST /api/episodes/{id}/events {"type":"session","at":AT,"id":KEY}
--                   on the episodes listed in EPISODES_FILE (one id a line, each in
--                   treatment, reevaluation_due or gp_consultation: a session is
--                   valid there any number of times, and changes no state)
--          open:    POST /api/episodes {"episode":KEY,"event":{"type":"open",...}}
--                   a new episode per request
-- TOKEN    a therapist's token (Authorization: Bearer)
-- TAG      makes the ids of this run unique (event ids and new episode ids are
--          TAG-t<thread>-<counter>); use a new TAG for every wrk run on a database
-- AT       the event date, YYYY-MM-DD (not before the episodes' last event)
-- PART/PARTS  this wrk takes every PARTS-th episode from PART (1-based), so that
--          several wrk processes write to disjoint episodes
--
-- A request answered with anything but 2xx is counted and the first such answer
-- is printed: a run with non2xx > 0 is invalid. With 200 (not 201) the event
-- was a duplicate, i.e. no new write: counted apart ("dup").
-- done() prints one line "WRKJSON {...}" for the driver script.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function read_lines(path)
  local out = {}
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end

function init(args)
  mode, token, tag, at = args[1], args[2], args[3], args[4]
  assert(mode == "session" or mode == "open", "MODE: session or open")
  assert(token and tag and at, "usage: MODE TOKEN TAG AT [EPISODES_FILE [PART PARTS]]")
  n = 0
  created, dup, non2xx, first_error = 0, 0, 0, ""
  episodes = {}
  if mode == "session" then
    local all = read_lines(assert(args[5], "session needs EPISODES_FILE"))
    local part, parts = tonumber(args[6] or "1"), tonumber(args[7] or "1")
    for i = part, #all, parts do episodes[#episodes + 1] = all[i] end
    assert(#episodes > 0, "no episodes for this part")
    -- each thread starts elsewhere in the list (threads rarely meet on one episode)
    pos = ((tid - 1) * 7919) % #episodes
  end
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
end

function request()
  n = n + 1
  local key = tag .. "-t" .. tid .. "-" .. n
  if mode == "session" then
    pos = pos % #episodes + 1
    local body = '{"type":"session","at":"' .. at .. '","id":"' .. key .. '"}'
    return wrk.format("POST", "/api/episodes/" .. episodes[pos] .. "/events", headers, body)
  end
  local body = '{"episode":"' .. key .. '","event":{"type":"open","at":"' .. at ..
      '","onset":"' .. at .. '","age":40,"complaint":"lbp","therapist":"bench"}}'
  return wrk.format("POST", "/api/episodes", headers, body)
end

function response(status, hdrs, body)
  if status == 201 then
    created = created + 1
  elseif status >= 200 and status < 300 then
    dup = dup + 1
  else
    non2xx = non2xx + 1
    if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local c, d, bad, first = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    d = d + t:get("dup")
    bad = bad + t:get("non2xx")
    local f = t:get("first_error")
    if first == "" and f and f ~= "" then first = f end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"created":%d,"dup":%d,"non2xx":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, secs, summary.requests / secs, c, d, bad,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
  if first ~= "" then io.write("WRKERROR " .. string.gsub(first, "\n", " ") .. "\n") end
end
