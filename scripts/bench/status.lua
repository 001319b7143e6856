-- wrk script for the status benchmark (scripts/bench.sh status): POSTs to list_invitations
-- the queries the status page sends, at a fixed total rate, and prints one machine-readable
-- line at the end. Environment: BENCH_COOKIE, the session cookie as "name=value".
-- Usage: wrk -t T -c C -d 25s -s status.lua http://host:port/api/list_invitations -- RATE T
-- wrk 4.1 has no rate flag: each thread keeps a schedule of send times, one slot every
-- threads/rate seconds, and delay() holds a connection until the next free slot. So the
-- offered rate does not fall when responses slow down, as long as a connection is free;
-- when every connection is waiting for a response the slots pass unused, and the achieved
-- rate shows it. wrk times each request from its sending to its response.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local function query(t)
  local q = {
    page = t.page or 1,
    per_page = 25,
    sort = t.sort or "InvitedOn",
    descending = t.descending == nil and true or t.descending,
    search = t.search or "",
    status = t.status and ('"' .. t.status .. '"') or "null",
  }
  return string.format(
    '{"query":{"page":%d,"per_page":%d,"sort":"%s","descending":%s,"search":"%s","status":%s}}',
    q.page, q.per_page, q.sort, tostring(q.descending), q.search, q.status)
end

-- What the status page asks for, in a cycle of 40 requests: mostly the first page as it
-- opens (newest first: 70%), then searches by part of a name or an email address (10%), the
-- status filter (7.5%), a sort by another column (7.5%) and a later page (5%). Every one of
-- them has rows in the benchmark's data (scripts/bench/status-seed.sql).
local others = {}
for _, text in ipairs({ "tan", "siti", "siti.ng1", "lim12" }) do
  others[#others + 1] = query({ search = text })
end
for _, state in ipairs({ "Active", "Invited", "Expired" }) do
  others[#others + 1] = query({ status = state })
end
for _, key in ipairs({ "Email", "Name", "Status" }) do
  others[#others + 1] = query({ sort = key, descending = false })
end
others[#others + 1] = query({ page = 2 })
others[#others + 1] = query({ page = 20 })
-- Two first pages before each of the others (not all the others in one burst), then four.
local first_page = query({})
local mix = {}
for _, other in ipairs(others) do
  mix[#mix + 1] = first_page
  mix[#mix + 1] = first_page
  mix[#mix + 1] = other
end
for _ = 1, 4 do mix[#mix + 1] = first_page end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
  threads[#threads + 1] = thread
end

local interval_ms, next_slot, counter
empty = 0

-- Arguments (after wrk's `--`): the total rate in requests per second, and wrk's -t (each
-- thread's init runs before the next thread exists, so it cannot count them itself).
function init(args)
  local rate = tonumber(args[1] or "200")
  local thread_total = tonumber(args[2] or "1")
  interval_ms = 1000 * thread_total / rate
  next_slot = now_ms()
  -- Threads start at different places in the mix.
  counter = (id or 1) * 7
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE") or ""
end

function delay()
  local now = now_ms()
  if next_slot < now then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  return math.floor(wait)
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, mix[counter % #mix + 1])
end

function response(status, headers, body)
  if status == 200 and not string.find(body, '"rows":[{', 1, true) then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  local empties = 0
  for _, t in ipairs(threads) do empties = empties + (tonumber(t:get("empty")) or 0) end
  local e = summary.errors
  io.write(string.format(
    "wrk-result requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d empty=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout, empties))
end
