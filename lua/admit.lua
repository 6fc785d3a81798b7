-- admit.lua — admission of one request: take a token from the caller's rate-limit bucket,
-- then look up, claim or store its idempotency key. A denied request writes nothing.
-- Uses lib/args, lib/clock, lib/idempotency.
--
-- Rate limit: a token bucket in exact integers. One token is worth W = 60000 units and the
-- bucket refills R units per millisecond (R = tokens per minute), so the level never needs
-- a fraction. Capacity C tokens. Time is Redis TIME.
--
-- KEYS[1]  bucket              <prefix>:{a:<actor>}:rate | <prefix>:{ip:<address>}:rate |
--                              any key of the slot when capacity is 0
-- KEYS[2]  idempotency_record  <prefix>:<slot tag>:idem:<scope>:<key hash> (any key of the
--                              slot when idempotency_mode is "none")
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  capacity            C, tokens (0 = not rate limited)
-- ARGV[3]  refill_per_minute   R, tokens per minute (>= 1)
-- ARGV[4]  idempotency_mode    "none" | "claim" (the request will run) | "store" (its final
--                              response is already known: ARGV[9], ARGV[10])
-- ARGV[5]  body_hash           SHA-256 of the canonical request body
-- ARGV[6]  owner               token of this request's claim
-- ARGV[7]  lease_ms            how long a claim lives without its owner ending it
-- ARGV[8]  ttl_seconds         how long a stored response is kept
-- ARGV[9]  status              final status (mode "store")
-- ARGV[10] body                final body (mode "store")
--
-- Returns  {outcome, remaining tokens, ms until the bucket is full, ms until a token is
--          available (0 unless limited), detail...}
--          outcome "admitted"                    run (claimed) or done (stored)
--          outcome "limited"                     429; nothing written
--          outcome "replay", status, body        the stored final response
--          outcome "in_flight", ms left          another request with this key is running
--          outcome "mismatch"                    the key was used with another body
local W = 60000
local now = now_ms(ARGV[1])
local capacity = int_arg(ARGV[2], 'capacity', 0)
local rate = int_arg(ARGV[3], 'refill_per_minute', 1)
local mode = word_arg(ARGV[4], 'idempotency_mode', {'none', 'claim', 'store'})

local level, remaining, full_in = 0, 0, 0
if capacity > 0 then
  local full = capacity * W
  local bucket = redis.call('HMGET', KEYS[1], 'level', 'ts')
  level = full
  if bucket[1] then
    -- Cap the elapsed time before multiplying so the product stays exact in a double.
    local elapsed = math.min(math.max(now - tonumber(bucket[2]), 0), math.ceil(full / rate))
    level = math.min(full, tonumber(bucket[1]) + elapsed * rate)
  end
  if level < W then
    local wait = math.ceil((W - level) / rate)
    return {'limited', 0, math.ceil((full - level) / rate), wait}
  end
  level = level - W
  remaining = math.floor(level / W)
  full_in = math.ceil((full - level) / rate)
end

local function consume()
  if capacity > 0 then
    redis.call('HSET', KEYS[1], 'level', level, 'ts', now)
    redis.call('PEXPIRE', KEYS[1], full_in + 1000)
  end
end

if mode ~= 'none' then
  local found = idem_lookup(KEYS[2], ARGV[5])
  if found then
    consume()
    local reply = {found[1], remaining, full_in, 0}
    for i = 2, #found do
      table.insert(reply, found[i])
    end
    return reply
  end
  if mode == 'claim' then
    idem_claim(KEYS[2], ARGV[5], ARGV[6], int_arg(ARGV[7], 'lease_ms', 1))
  else
    idem_store(KEYS[2], ARGV[5], ARGV[6], ARGV[9], ARGV[10], int_arg(ARGV[8], 'ttl_seconds', 1))
  end
end
consume()
return {'admitted', remaining, full_in, 0}
