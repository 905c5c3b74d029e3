-- scapi fleet counters: a client's session ended; its counters go, and with
-- them its quarantines "until the session ends".
--
-- KEYS[1]  the client's counters:  <prefix>:{<client>}:keys    (a set)
-- KEYS[2]  its names outside the catalog: <prefix>:{<client>}:others
-- KEYS[3]  their shared counter:   <prefix>:{<client>}:overflow
-- Returns how many keys were deleted.

local members = redis.call('SMEMBERS', KEYS[1])
local n = 0
for i = 1, #members, 1000 do
  n = n + redis.call('DEL', unpack(members, i, math.min(i + 999, #members)))
end
return n + redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
