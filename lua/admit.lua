-- admit.lua — admission of one request: take a token from the caller's rate-limit bucket,
-- then check or claim its idempotency key. A denied request writes nothing.
-- Prepended with lib/account.lua (for now_ms).
--
-- Rate limit: a token bucket in exact integers. One token is worth W = 60000 units and the
-- bucket refills R units per millisecond (R = tokens per minute), so the level never needs
-- a fraction. Capacity C tokens. Time is Redis TIME.
--
-- KEYS[1]  rate-limit bucket   <prefix>:{a:<actor>}:rate  or  <prefix>:{ip:<address>}:rate
-- KEYS[2]  idempotency record  <prefix>:{a:<actor>}:idem:<scope>:<key hash> (any key of the
--          slot when ARGV[5] is "none")
-- ARGV[1]  time override, ms ('' = Redis TIME)
-- ARGV[2]  capacity C (0 = not rate limited)
-- ARGV[3]  refill R, tokens per minute
-- ARGV[4]  idempotency mode: "none" | "claim" (the request will run) | "store" (the final
--          response is already known: ARGV[9], ARGV[10])
-- ARGV[5]  request body hash
-- ARGV[6]  owner token of a claim
-- ARGV[7]  claim lease, ms
-- ARGV[8]  stored response time to live, seconds
-- ARGV[9]  final status (mode "store")
-- ARGV[10] final body (mode "store")
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
local capacity = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])

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

local mode = ARGV[4]
if mode ~= 'none' then
  local record = redis.call('HMGET', KEYS[2], 'state', 'hash', 'status', 'body')
  if record[1] then
    consume()
    if record[2] ~= ARGV[5] then
      return {'mismatch', remaining, full_in, 0}
    end
    if record[1] == 'done' then
      return {'replay', remaining, full_in, 0, record[3], record[4]}
    end
    return {'in_flight', remaining, full_in, 0, redis.call('PTTL', KEYS[2])}
  end
  if mode == 'claim' then
    redis.call('HSET', KEYS[2], 'state', 'running', 'hash', ARGV[5], 'owner', ARGV[6])
    redis.call('PEXPIRE', KEYS[2], ARGV[7])
  else
    redis.call('HSET', KEYS[2], 'state', 'done', 'hash', ARGV[5], 'owner', ARGV[6],
      'status', ARGV[9], 'body', ARGV[10])
    redis.call('EXPIRE', KEYS[2], ARGV[8])
  end
end
consume()
return {'admitted', remaining, full_in, 0}
