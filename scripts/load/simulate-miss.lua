-- simulate-miss.lua — POST /api/simulate where every request is a cache miss: the seed is
-- SEED_BASE + thread_id * 1e9 + a per-thread counter, so no two requests of a run (or of
-- two runs with different SEED_BASE) share a fingerprint. Actors rotate over 1000 names
-- per thread so one actor's bucket and balance never dominate; ACTOR names one actor for
-- every request instead.
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

local base = tonumber(os.getenv("SEED_BASE") or "1000000000000")
local iterations = tonumber(os.getenv("ITERATIONS") or "10000")
local counter = 0
local actor = os.getenv("ACTOR")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  -- thread_id is set by setup() in report.lua before the thread starts.
  local id = thread_id or 0
  local seed = base + id * 1e9 + counter
  local headers = { ["Content-Type"] = "application/json",
                    ["X-Actor-ID"] = (actor and actor ~= "") and actor
                                     or string.format("load-%d-%d", id, counter % 1000) }
  local body = string.format('{"event_id":"demo_001","seed":%.0f,"iterations":%d}',
                             seed, iterations)
  return wrk.format("POST", nil, headers, body)
end
