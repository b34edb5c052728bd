//! The Lua scripts that keep shared state consistent: each runs atomically inside Redis,
//! so replicas never read-then-write around one another. Times come from Redis's own
//! clock (`TIME`), so replicas whose clocks differ still share one window.

/// A sliding 60-second window of requests and tokens (rpm/tpm), with reservations that are
/// settled later. `KEYS[1]`: a sorted set of reservation ids scored by time; `KEYS[2]`: a
/// hash of id → tokens plus `total` and `next`. `ARGV`: rpm and tpm (-1: none), the
/// tokens wanted, the window in ms. Answers `{1, id}` or `{0, kind (1 rpm, 2 tpm), limit,
/// remaining, retry_ms}`.
pub const WINDOW_ACQUIRE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[4])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
if #old > 0 then
  local gone = 0
  for _, id in ipairs(old) do
    gone = gone + tonumber(redis.call('HGET', KEYS[2], id) or '0')
    redis.call('HDEL', KEYS[2], id)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  redis.call('HINCRBY', KEYS[2], 'total', -gone)
end
local count = redis.call('ZCARD', KEYS[1])
local used = tonumber(redis.call('HGET', KEYS[2], 'total') or '0')
local rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function retry()
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #first == 0 then return 0 end
  return math.max(0, tonumber(first[2]) + window - now)
end
if rpm >= 0 and count >= rpm then
  return {0, 1, rpm, 0, retry()}
end
if tpm >= 0 and used > 0 and used + tokens > tpm then
  return {0, 2, tpm, math.max(0, tpm - used), retry()}
end
local id = redis.call('HINCRBY', KEYS[2], 'next', 1)
redis.call('ZADD', KEYS[1], now, id)
redis.call('HSET', KEYS[2], id, tokens)
redis.call('HINCRBY', KEYS[2], 'total', tokens)
redis.call('PEXPIRE', KEYS[1], window + 1000)
redis.call('PEXPIRE', KEYS[2], window + 1000)
return {1, id}
"#;

/// Replaces a window reservation's estimate with the real tokens (`KEYS[1]`: the hash;
/// `ARGV`: id, tokens). One already out of the window is ignored.
pub const WINDOW_SETTLE: &str = r#"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'total', tonumber(ARGV[2]) - tonumber(old))
end
return 0
"#;

/// Counts one request against a daily quota (`KEYS[1]`: the day's counter; `ARGV`: the
/// limit, the count to start from when the counter is new, its lifetime in ms). Answers
/// 1 when counted, 0 when the quota is spent.
pub const DAILY_TAKE: &str = r#"
redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3])
local used = tonumber(redis.call('GET', KEYS[1]))
if used >= tonumber(ARGV[1]) then
  return 0
end
redis.call('INCR', KEYS[1])
return 1
"#;

/// Reserves `ARGV[1]` dollars against every ledger in `KEYS`, or against none. Per ledger
/// three `ARGV`: the budget, the spend to start from when the ledger is new (what the log
/// says), the ledger's lifetime in ms (0: none). Answers `{0}` when reserved, else the
/// 1-based index of the first ledger without room and its spend as a string.
pub const BUDGET_RESERVE: &str = r#"
local usd = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 3
  local limit, seed, ttl = tonumber(ARGV[base + 1]), ARGV[base + 2], tonumber(ARGV[base + 3])
  if redis.call('HSETNX', key, 'spent', seed) == 1 and ttl > 0 then
    redis.call('PEXPIRE', key, ttl)
  end
  local spent = tonumber(redis.call('HGET', key, 'spent') or '0')
  local reserved = math.max(0, tonumber(redis.call('HGET', key, 'reserved') or '0'))
  if spent + reserved + usd > limit + 1e-9 then
    return {i, tostring(spent)}
  end
end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBYFLOAT', key, 'reserved', ARGV[1])
end
return {0}
"#;

/// Settles a budget reservation (`KEYS[1]`: the ledger; `ARGV`: what was reserved, what
/// the call cost). A ledger that expired with its period is left alone.
pub const BUDGET_SETTLE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', tostring(-tonumber(ARGV[1])))
  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[2])
end
return 0
"#;
