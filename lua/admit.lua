-- admit.lua — admission of a request with an idempotency key: take a token from the
-- caller's rate-limit bucket, then look up, claim or store its key. A denied request writes
-- nothing. Safe to run twice for one admission: the bucket remembers the last admission id
-- (no second token is taken) and a claim made by the same owner counts as this request's.
-- Requests without a key are admitted by rate.lua. Time is Redis TIME.
-- Uses lib/args, lib/clock, lib/bucket, lib/idempotency.
--
-- KEYS[1]  bucket              <prefix>:{a:<actor>}:rate | <prefix>:{ip:<address>}:rate |
--                              any key of the slot when capacity is 0
-- KEYS[2]  idempotency_record  <prefix>:<slot tag>:idem:<scope>:<key hash>
-- KEYS[3]  idempotency_index   <prefix>:<slot tag>:idem-index (zset of the slot's records)
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  admission_id        unique to this admission (a second run takes no token)
-- ARGV[3]  capacity            C, tokens (0 = not rate limited)
-- ARGV[4]  refill_per_minute   R, tokens per minute (>= 1)
-- ARGV[5]  idempotency_mode    "claim" (the request will run) | "store" (its final response
--                              is already known: ARGV[10], ARGV[11])
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
local now = now_ms(ARGV[1])
local capacity = int_arg(ARGV[3], 'capacity', 0)
local rate = int_arg(ARGV[4], 'refill_per_minute', 1)
local mode = word_arg(ARGV[5], 'idempotency_mode', {'claim', 'store'})

local wait, remaining, next_in, level, full_in =
  bucket_take(KEYS[1], now, ARGV[2], capacity, rate)
if wait > 0 then
  return {'limited', 0, wait, wait}
end

local found = idem_lookup(KEYS[2], ARGV[6], ARGV[7])
if found then
  bucket_save(KEYS[1], level, full_in, now, ARGV[2])
  local reply = {found[1], remaining, next_in, 0}
  for i = 2, #found do
    table.insert(reply, found[i])
  end
  return reply
end
local ttl = int_arg(ARGV[9], 'ttl_seconds', 1)
if redis.call('EXISTS', KEYS[2]) == 0 then
  local room_in = idem_room(KEYS[3], now, int_arg(ARGV[12], 'max_records', 1))
  if room_in then
    return {'too_many_keys', remaining, next_in, 0, room_in}
  end
end
if mode == 'claim' then
  idem_claim(KEYS[2], ARGV[6], ARGV[7], int_arg(ARGV[8], 'lease_ms', 1))
else
  idem_store(KEYS[2], ARGV[6], ARGV[7], ARGV[10], ARGV[11], ttl)
end
idem_index(KEYS[3], KEYS[2], now, now + ttl * 1000)
bucket_save(KEYS[1], level, full_in, now, ARGV[2])
return {'admitted', remaining, next_in, 0}
