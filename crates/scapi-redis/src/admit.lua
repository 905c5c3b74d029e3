-- scapi fleet counters: one request of one (client, request) counter,
-- applied atomically. A port of `scapi_policy::limiter::step`, line for
-- line; `tests/redis.rs` holds them equal over random timelines.
--
-- KEYS[1]  the counter:            <prefix>:{<client>}:r:<request>
-- KEYS[2]  the client's counters:  <prefix>:{<client>}:keys    (a set)
-- KEYS[3]  its names outside the catalog: <prefix>:{<client>}:others (a set)
-- KEYS[4]  the counter those names share past the bound: <prefix>:{<client>}:overflow
--   All four share the client's hash tag, so they live in one Cluster slot.
-- ARGV[1]  now, ms since the epoch; empty: the server's clock (TIME)
-- ARGV[2]  the limit: requests per 60-second window (> 0)
-- ARGV[3]  the quarantine, ms; 0: until the session ends
-- ARGV[4]  1 when the request is outside the catalog, else 0
-- ARGV[5]  counters a client may have for names outside the catalog
-- ARGV[6]  the session cap, ms: how long a key outlives its last use at most
--
-- Returns {admission, until, now, remaining}: admission 0 admitted, 1
-- limited (the error result is sent), 2 ignored (no answer); until the end
-- of the quarantine, -1 for forever, or for an admission the end of its
-- window; now the time used; remaining what the window still admits.
--
-- A counter is a string: "C <window> <count>", "Q <until> <count>" or "F".
-- A quarantine keeps the count of the window it ends in (0 when that is a
-- later window than the one it started in): at most `limit` admissions per
-- window, always.

local key, keys, others, overflow = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- A time given by the caller (a replay) is not the server's: key lifetimes
-- computed from it would run out on the server's clock, so such keys live
-- for the session cap.
local replay = tonumber(ARGV[1]) ~= nil
local limit = tonumber(ARGV[2])
local quarantine = tonumber(ARGV[3])
local outside = ARGV[4] == '1'
local max_other = tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local WINDOW = 60000

local function window_start(t) return t - (t % WINDOW) end
local function int(x) return string.format('%.0f', x) end

-- A client's names outside the catalog are bounded: past the bound, its
-- new names share one counter (limited sooner, never later).
-- A name that counted on the shared counter stays there while it lives,
-- even if the set of names has room again (its members expired).
if outside and redis.call('SISMEMBER', others, key) == 0 then
  if redis.call('SCARD', others) >= max_other or redis.call('EXISTS', overflow) == 1 then
    key = overflow
  else
    redis.call('SADD', others, key)
    redis.call('PEXPIRE', others, cap)
  end
end

-- step(state, limit, now)
local state = redis.call('GET', key)
local window, count = window_start(now), 0          -- fresh
if state then
  local kind, a, b = string.match(state, '^(%a) ?(%-?%d*) ?(%d*)$')
  if kind == 'Q' and now >= tonumber(a) then           -- quarantine over
    if window_start(now) == window_start(tonumber(a)) then
      window, count = window_start(now), tonumber(b) or 0
    else
      window, count = window_start(now), 0
    end
  elseif kind == 'Q' then                              -- still quarantined
    return {2, tonumber(a), now, 0}
  elseif kind == 'F' then                              -- until the session ends
    return {2, -1, now, 0}
  else                                                 -- counting
    -- The window never moves back, so an earlier timestamp gains nothing.
    local current = window_start(now)
    if current > tonumber(a) then
      window, count = current, 0
    else
      window, count = tonumber(a), tonumber(b)
    end
  end
else
  redis.call('SADD', keys, key)
  redis.call('PEXPIRE', keys, cap)
end
if count < limit then
  -- Idle once its window is over: it may go then.
  local ttl = math.min(math.max(window + WINDOW - now, 1) + 1000, cap)
  if replay then ttl = cap end
  redis.call('SET', key, 'C ' .. int(window) .. ' ' .. int(count + 1), 'PX', int(ttl))
  return {0, window + WINDOW, now, limit - count - 1}
end
if quarantine == 0 then
  redis.call('SET', key, 'F', 'PX', int(cap))
  return {1, -1, now, 0}
end
-- Stamped before the counter's window: the quarantine starts at the window.
local ends = math.max(now, window) + quarantine
-- What the window admitted still counts if the quarantine ends in it, so
-- the key lives until that window is over.
local kept, ttl = 0, ends - now + 1000
if window_start(ends) == window then
  kept, ttl = count, window + WINDOW - now + 1000
end
if replay then ttl = cap end
redis.call('SET', key, 'Q ' .. int(ends) .. ' ' .. int(kept), 'PX', int(math.min(ttl, cap)))
return {1, ends, now, 0}
