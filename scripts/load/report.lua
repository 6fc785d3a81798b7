-- report.lua — shared by the load scripts: a machine-readable summary line at the end of
-- a wrk run, and (when COUNT_STATUS=1) per-status response counts summed over all threads.
--
-- Printed by done():
--   RESULT requests=<n> duration_us=<n> rps=<x> p50_us=<n> p99_us=<n> non2xx=<n>
--          connect=<n> read=<n> write=<n> timeout=<n>
--   STATUS <code>=<n> ...        only with COUNT_STATUS=1
--   KINDS <kind>=<n> ...         when the script counts its requests by kind (mix.lua)
--
-- Counting statuses needs wrk's response() hook, which makes wrk hand every response's
-- headers and body to Lua; it is therefore switched on only for the rate-limited path.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

if os.getenv("COUNT_STATUS") == "1" then
  statuses = {}
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d " ..
    "connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect, e.read, e.write, e.timeout))
  -- Requests of each kind, when the script counts kinds in a global `counts` (mix.lua).
  local kinds = {}
  for _, thread in ipairs(threads) do
    for kind, n in pairs(thread:get("counts") or {}) do
      kinds[kind] = (kinds[kind] or 0) + n
    end
  end
  if next(kinds) then
    local parts = {}
    for kind, n in pairs(kinds) do table.insert(parts, string.format("%s=%d", kind, n)) end
    table.sort(parts)
    io.write("KINDS " .. table.concat(parts, " ") .. "\n")
  end
  if os.getenv("COUNT_STATUS") == "1" then
    local total = {}
    for _, thread in ipairs(threads) do
      local counts = thread:get("statuses") or {}
      for code, n in pairs(counts) do
        total[code] = (total[code] or 0) + n
      end
    end
    local codes = {}
    for code in pairs(total) do table.insert(codes, code) end
    table.sort(codes)
    local parts = {}
    for _, code in ipairs(codes) do
      table.insert(parts, string.format("%d=%d", code, total[code]))
    end
    io.write("STATUS " .. table.concat(parts, " ") .. "\n")
  end
end
