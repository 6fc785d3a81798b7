-- charged-miss.lua — POST /api/simulate with a new seed and a new Idempotency-Key on every
-- request, so that each one is computed and charged (a hold, then a commit that stores the
-- answer for its key): the account work REDIS_MIN_REPLICA_ACKS waits for. Actors are taken in
-- turn from ACTORS (default 32); ITERATIONS per simulation (default 1000). The summary line
-- comes from report.lua (LOAD_DIR: its directory).
dofile((os.getenv("LOAD_DIR") or "scripts/load") .. "/report.lua")

local actors = tonumber(os.getenv("ACTORS") or "32")
local iterations = os.getenv("ITERATIONS") or "1000"
local run = os.getenv("RUN_ID") or "0"
local counter = 0

function request()
  counter = counter + 1
  local seed = (thread_id or 0) * 1000000000 + counter
  local body = string.format(
    '{"event_id":"demo_001","iterations":%s,"seed":%d}', iterations, seed)
  return wrk.format("POST", "/api/simulate", {
    ["Content-Type"] = "application/json",
    ["X-Actor-ID"] = "payer-" .. (counter % actors),
    ["Idempotency-Key"] = run .. "-" .. seed,
  }, body)
end
