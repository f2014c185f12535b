-- wrk script for bench/bench_http.py.
--
-- BENCH_REQUESTS names a file of requests, one a line: METHOD <tab> PATH [<tab> BODY].
-- Each wrk thread takes every n-th line (thread k the lines k, k+n, …) and sends them in
-- turn, from the start again when it reaches its last one (with fewer lines than threads,
-- every thread sends them all). BENCH_HEADERS holds extra
-- headers, "Name: value" separated by "\n". With BENCH_EXPECT set, a 200 or 422 answer
-- whose body lacks that text counts as a wrong verdict.
-- done() prints one JSON line starting with "BENCH_RESULT ".

local threads = {}
local count = 0

function setup(thread)
   thread:set("number", count)
   count = count + 1
   table.insert(threads, thread)
end

local requests = {}
local next_request = 1
local expect = os.getenv("BENCH_EXPECT")
status_2xx, status_4xx, status_5xx, status_503, status_other, wrong = 0, 0, 0, 0, 0, 0

function init(args)
   local threads_total = tonumber(os.getenv("BENCH_THREADS") or "1")
   local headers = {}
   for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
      local name, value = string.match(line, "^([^:]+):%s*(.*)$")
      if name then headers[name] = value end
   end
   local all = {}
   local i = 0
   for line in io.lines(os.getenv("BENCH_REQUESTS")) do
      local method, path, body = string.match(line, "^([A-Z]+)\t([^\t]+)\t?(.*)$")
      if body == "" then body = nil end
      local r = wrk.format(method, path, headers, body)
      table.insert(all, r)
      if i % threads_total == number then table.insert(requests, r) end
      i = i + 1
   end
   -- Fewer lines than threads (a single health request): every thread sends them all.
   if #requests == 0 then requests = all end
   if #requests == 0 then error("no requests in " .. os.getenv("BENCH_REQUESTS")) end
end

function request()
   local r = requests[next_request]
   next_request = next_request % #requests + 1
   return r
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      status_2xx = status_2xx + 1
   elseif status >= 500 then
      status_5xx = status_5xx + 1
      if status == 503 then status_503 = status_503 + 1 end
   elseif status >= 400 then
      status_4xx = status_4xx + 1
   else
      status_other = status_other + 1
   end
   if expect and (status == 200 or status == 422) and not string.find(body, expect, 1, true) then
      wrong = wrong + 1
   end
end

function done(summary, latency, requests)
   local c2, c4, c5, c503, co, w = 0, 0, 0, 0, 0, 0
   for _, t in ipairs(threads) do
      c2 = c2 + t:get("status_2xx")
      c4 = c4 + t:get("status_4xx")
      c5 = c5 + t:get("status_5xx")
      c503 = c503 + t:get("status_503")
      co = co + t:get("status_other")
      w = w + t:get("wrong")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, '
         .. '"p99_us": %d, "max_us": %d, "status_2xx": %d, "status_4xx": %d, "status_5xx": %d, '
         .. '"status_503": %d, "status_other": %d, "wrong": %d, "connect_errors": %d, "read_errors": %d, '
         .. '"write_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
      latency:percentile(99), latency.max, c2, c4, c5, c503, co, w,
      e.connect, e.read, e.write, e.timeout))
end
