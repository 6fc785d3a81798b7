-- admit.lua — admission of one request: take a token from the caller's rate-limit bucket,
-- then look up, claim or store its idempotency key. A denied request writes nothing.
-- Safe to run twice for one admission: the bucket remembers the last admission id (no
-- second token is taken) and a claim made by the same owner counts as this request's.
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
-- KEYS[3]  idempotency_index   <prefix>:<slot tag>:idem-index (zset of the slot's records)
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  admission_id        unique to this admission (a second run takes no token)
-- ARGV[3]  capacity            C, tokens (0 = not rate limited)
-- ARGV[4]  refill_per_minute   R, tokens per minute (>= 1)
-- ARGV[5]  idempotency_mode    "none" | "claim" (the request will run) | "store" (its final
--                              response is already known: ARGV[10], ARGV[11])
-- ARGV[6]  body_hash           SHA-256 of the canonical request body
-- ARGV[7]  owner               token of this request's claim
-- ARGV[8]  lease_ms            how long a claim lives without its owner ending it
-- ARGV[9]  ttl_seconds         how long a stored response is kept
-- ARGV[10] status              final status (mode "store")
-- ARGV[11] body                final body (mode "store")
-- ARGV[12] max_records         live idempotency records the slot may hold
--
-- Returns  {outcome, remaining tokens, ms until the next token arrives (0 when the bucket is
--          full), ms until a token is available (0 unless limited), detail...}
--          outcome "admitted"                    run (claimed) or done (stored)
--          outcome "limited"                     429; nothing written
--          outcome "replay", status, body        the stored final response
--          outcome "in_flight", ms left          another request with this key is running
--          outcome "mismatch"                    the key was used with another body
--          outcome "too_many_keys", ms           the slot holds max_records live records;
--                                                one expires within ms; nothing written
local W = 60000
local now = now_ms(ARGV[1])
local capacity = int_arg(ARGV[3], 'capacity', 0)
local rate = int_arg(ARGV[4], 'refill_per_minute', 1)
local mode = word_arg(ARGV[5], 'idempotency_mode', {'none', 'claim', 'store'})

local level, remaining, full_in, next_in = 0, 0, 0, 0
local again = false
if capacity > 0 then
  local full = capacity * W
  local bucket = redis.call('HMGET', KEYS[1], 'level', 'ts', 'last')
  level = full
  again = bucket[3] == ARGV[2]
  if again then
    level = tonumber(bucket[1])
  elseif bucket[1] then
    -- Cap the elapsed time before multiplying so the product stays exact in a double.
    local elapsed = math.min(math.max(now - tonumber(bucket[2]), 0), math.ceil(full / rate))
    level = math.min(full, tonumber(bucket[1]) + elapsed * rate)
  end
  if not again then
    if level < W then
      local wait = math.ceil((W - level) / rate)
      return {'limited', 0, wait, wait}
    end
    level = level - W
  end
  remaining = math.floor(level / W)
  full_in = math.ceil((full - level) / rate)
  if level < full then
    next_in = math.ceil((W - level % W) / rate)
  end
end

local function consume()
  if capacity > 0 and not again then
    redis.call('HSET', KEYS[1], 'level', level, 'ts', now, 'last', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], full_in + 1000)
  end
end

if mode ~= 'none' then
  local found = idem_lookup(KEYS[2], ARGV[6], ARGV[7])
  if found then
    consume()
    local reply = {found[1], remaining, next_in, 0}
    for i = 2, #found do
      table.insert(reply, found[i])
    end
    return reply
  end
  local ttl = int_arg(ARGV[9], 'ttl_seconds', 1)
  if redis.call('EXISTS', KEYS[2]) == 0 then
    local wait = idem_room(KEYS[3], now, int_arg(ARGV[12], 'max_records', 1))
    if wait then
      return {'too_many_keys', remaining, next_in, 0, wait}
    end
  end
  if mode == 'claim' then
    idem_claim(KEYS[2], ARGV[6], ARGV[7], int_arg(ARGV[8], 'lease_ms', 1))
  else
    idem_store(KEYS[2], ARGV[6], ARGV[7], ARGV[10], ARGV[11], ttl)
  end
  idem_index(KEYS[3], KEYS[2], now, now + ttl * 1000)
end
consume()
return {'admitted', remaining, next_in, 0}
