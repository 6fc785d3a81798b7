-- simulate-hit.lua — POST /api/simulate with one fixed body and actor: once the cache is
-- primed, every request is a cache hit (no engine run, no token charged). With
-- IDEMPOTENCY_KEY set every request carries that key: after the first, each is a replay.
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Actor-ID"] = os.getenv("ACTOR") or "load-hit"
wrk.body = '{"event_id":"demo_001","seed":42,"iterations":10000}'
local key = os.getenv("IDEMPOTENCY_KEY")
if key and key ~= "" then
  wrk.headers["Idempotency-Key"] = key
end
