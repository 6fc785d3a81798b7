-- mix.lua — a paced mix of the service's operations, for the capacity model's check
-- (scripts/capacity/check.py). Out of every 100 requests of a connection: HIT cache hits
-- on a hot set of 20 fingerprints, MISS computed misses (a new seed, 10 000 iterations),
-- REPLAY idempotent replays (50 primed keys), DENIED requests of one greedy actor (429 once
-- its burst is spent) and the rest balance reads. Hits, misses and reads rotate over ACTORS
-- actors. Each connection waits DELAY_MS between its requests, which sets the rate.
-- done() (report.lua) prints the requests of each kind: KINDS hit=<n> miss=<n> ...
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

local delay_ms = tonumber(os.getenv("DELAY_MS") or "10")
local actors = tonumber(os.getenv("ACTORS") or "2000")
local seed_base = tonumber(os.getenv("SEED_BASE") or "5000000000000")
local tag = os.getenv("TAG") or "mix"
local shares = {
  { "hit", tonumber(os.getenv("HIT") or "80") },
  { "miss", tonumber(os.getenv("MISS") or "5") },
  { "replay", tonumber(os.getenv("REPLAY") or "5") },
  { "denied_429", tonumber(os.getenv("DENIED") or "5") },
}
-- The kind of request i (1..100) of every hundred: spread evenly, not in runs.
local kinds = {}
for i = 1, 100 do kinds[i] = "read" end
local slot = 0
for _, share in ipairs(shares) do
  for j = 0, share[2] - 1 do
    -- Stride 37 (prime to 100) scatters each kind over the hundred.
    kinds[((slot + j) * 37) % 100 + 1] = share[1]
  end
  slot = slot + share[2]
end

counts = {}
local counter = 0

function delay()
  return delay_ms
end

local function simulate(actor, body, key)
  local headers = { ["Content-Type"] = "application/json", ["X-Actor-ID"] = actor }
  if key then headers["Idempotency-Key"] = key end
  return wrk.format("POST", "/api/simulate", headers, body)
end

function request()
  counter = counter + 1
  local id = thread_id or 0
  local kind = kinds[counter % 100 + 1]
  counts[kind] = (counts[kind] or 0) + 1
  local actor = string.format("%s-a%d", tag, (counter * 7 + id * 1009) % actors)
  if kind == "hit" then
    local n = counter % 20
    return simulate(actor, string.format('{"event_id":"demo_%03d","seed":%d,"iterations":10000}',
                                         n % 10 + 1, math.floor(n / 10) + 1))
  elseif kind == "miss" then
    return simulate(actor, string.format('{"event_id":"demo_001","seed":%.0f,"iterations":10000}',
                                         seed_base + id * 1e9 + counter))
  elseif kind == "replay" then
    local k = counter % 50
    return simulate(string.format("%s-r%d", tag, k),
                    string.format('{"event_id":"demo_%03d","seed":%d,"iterations":10000}',
                                  k % 10 + 1, k % 2 + 1), string.format("%s-k%d", tag, k))
  elseif kind == "denied_429" then
    return simulate(tag .. "-greedy", '{"event_id":"demo_001","seed":1,"iterations":10000}')
  end
  return wrk.format("GET", "/api/balance", { ["X-Actor-ID"] = actor })
end
