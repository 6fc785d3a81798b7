-- rate.lua — admission of a request without an idempotency key: take a token from the
-- caller's rate-limit bucket. A denied request writes nothing. Safe to run twice for one
-- admission: the bucket remembers the last admission id (no second token is taken).
-- Requests with a key are admitted by admit.lua, which does the same and then applies the
-- key. Uses lib/args, lib/clock, lib/bucket.
--
-- KEYS[1]  bucket              <prefix>:{a:<actor>}:rate | <prefix>:{ip:<address>}:rate |
--                              any key of the slot when capacity is 0
-- ARGV[1]  time_override       ms since the epoch ('' = Redis TIME)
-- ARGV[2]  admission_id        unique to this admission (a second run takes no token)
-- ARGV[3]  capacity            C, tokens (0 = not rate limited)
-- ARGV[4]  refill_per_minute   R, tokens per minute (>= 1)
--
-- Returns  {outcome, remaining tokens, ms until the next token arrives (0 when the bucket is
--          full), ms until a token is available (0 unless limited)}
--          outcome "admitted"                    run
--          outcome "limited"                     429; nothing written
local now = now_ms(ARGV[1])
local capacity = int_arg(ARGV[3], 'capacity', 0)
local rate = int_arg(ARGV[4], 'refill_per_minute', 1)

local wait, remaining, next_in, level, full_in =
  bucket_take(KEYS[1], now, ARGV[2], capacity, rate)
if wait > 0 then
  return {'limited', 0, wait, wait}
end
bucket_save(KEYS[1], level, full_in, now, ARGV[2])
return {'admitted', remaining, next_in, 0}
