-- get.lua — plain GET of the URL's path; X-Actor-ID from the ACTOR environment variable
-- when set (the rate-limited path uses one actor for every request).
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

local actor = os.getenv("ACTOR")
if actor and actor ~= "" then
  wrk.headers["X-Actor-ID"] = actor
end
