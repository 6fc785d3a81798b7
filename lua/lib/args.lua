-- lib/args.lua — checks of script arguments, run before anything is written.
--
-- A caller passing a wrong value is a bug in the caller; writing it into an account would
-- corrupt state for good, so such a call fails with an error reply and writes nothing.

-- ARGV value `value` as an integer of at least `min`, or an error naming `name`.
local function int_arg(value, name, min)
  local n = tonumber(value)
  if n == nil or n ~= math.floor(n) or n < min then
    return error({err = 'ERR bad argument ' .. name .. ': ' .. tostring(value)})
  end
  return n
end

-- ARGV value `value` as one of the words in `allowed`, or an error naming `name`.
local function word_arg(value, name, allowed)
  for _, word in ipairs(allowed) do
    if value == word then
      return value
    end
  end
  return error({err = 'ERR bad argument ' .. name .. ': ' .. tostring(value)})
end
