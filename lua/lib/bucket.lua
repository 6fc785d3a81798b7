-- lib/bucket.lua — a caller's rate-limit token bucket, in exact integers.
--
-- Prepended (src/store/scripts.rs) to the two admission scripts: rate (a request without an
-- idempotency key) and admit (a request with one).
--
-- One token is worth 60000 units and the bucket refills R units per millisecond (R = tokens
-- per minute), so the level never needs a fraction. Capacity C tokens. The bucket is a hash:
-- level (units), ts (when level was computed, ms) and last (the admission id that took the
-- last token, so that running one admission twice takes one token).

local BUCKET_UNIT = 60000

-- Takes a token for admission `id` at `now` from the bucket at `key` (capacity 0: not rate
-- limited) without writing it. Returns wait, remaining, next_in, level, full_in:
--   wait       ms until a token is available (0: admitted; > 0: limited, nothing else set)
--   remaining  whole tokens left after this admission
--   next_in    ms until the next token arrives (0 when the bucket is full)
--   level      the bucket's level to write with bucket_save (nil: nothing to write, this
--              admission ran already or the caller is not rate limited)
--   full_in    ms until the bucket is full again
-- (Plain values rather than a table: this runs for every request.)
local function bucket_take(key, now, id, capacity, rate)
  if capacity == 0 then
    return 0, 0, 0
  end
  local full = capacity * BUCKET_UNIT
  local bucket = redis.call('HMGET', key, 'level', 'ts', 'last')
  local again = bucket[3] == id
  local level = full
  if again then
    level = tonumber(bucket[1])
  elseif bucket[1] then
    -- Cap the elapsed time before multiplying so the product stays exact in a double.
    local elapsed = math.min(math.max(now - tonumber(bucket[2]), 0), math.ceil(full / rate))
    level = math.min(full, tonumber(bucket[1]) + elapsed * rate)
  end
  if not again then
    if level < BUCKET_UNIT then
      return math.ceil((BUCKET_UNIT - level) / rate)
    end
    level = level - BUCKET_UNIT
  end
  local next_in = 0
  if level < full then
    next_in = math.ceil((BUCKET_UNIT - level % BUCKET_UNIT) / rate)
  end
  local remaining = math.floor(level / BUCKET_UNIT)
  if again then
    return 0, remaining, next_in
  end
  return 0, remaining, next_in, level, math.ceil((full - level) / rate)
end

-- Writes `level` from bucket_take for admission `id` at `now` (nothing when it is nil). The
-- bucket expires once it would be full again: an idle caller leaves no key behind.
local function bucket_save(key, level, full_in, now, id)
  if level then
    redis.call('HSET', key, 'level', level, 'ts', now, 'last', id)
    redis.call('PEXPIRE', key, full_in + 1000)
  end
end
