"""The Lua scripts that make each Redis operation of the session backend atomic.

Redis runs a script without interleaving any other command, so a check and the
write that depends on it (take the lease only if free, append an entry only if its
uuid is new) cannot race with another replica. Times are milliseconds.
"""

from __future__ import annotations

# KEYS: entries, uuids, registry (the project's sorted set, or the session's subkey set)
# ARGV: mtime, retention (0 = none), is_subkey ('1'/'0'), member, then uuid/json pairs
APPEND = """
local added = 0
for i = 5, #ARGV, 2 do
  local uuid = ARGV[i]
  if uuid == '' or redis.call('SADD', KEYS[2], uuid) == 1 then
    redis.call('RPUSH', KEYS[1], ARGV[i + 1])
    added = added + 1
  end
end
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[3], ARGV[4])
else
  local mtime = tonumber(ARGV[1])
  local previous = redis.call('ZSCORE', KEYS[3], ARGV[4])
  if previous and tonumber(previous) >= mtime then mtime = tonumber(previous) + 1 end
  redis.call('ZADD', KEYS[3], mtime, ARGV[4])
end
local retention = tonumber(ARGV[2])
if retention > 0 then
  for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], retention) end
  if ARGV[3] ~= '1' then
    local cutoff = string.format('(%d', tonumber(ARGV[1]) - retention)
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', cutoff)
  end
end
return added
"""

# KEYS: entries, uuids.  ARGV: how many entries to keep
TRUNCATE = """
local keep = tonumber(ARGV[1])
local removed = redis.call('LRANGE', KEYS[1], keep, -1)
for _, raw in ipairs(removed) do
  local ok, entry = pcall(cjson.decode, raw)
  if ok and type(entry) == 'table' and type(entry['uuid']) == 'string' then
    redis.call('SREM', KEYS[2], entry['uuid'])
  end
end
if keep == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('LTRIM', KEYS[1], 0, keep - 1)
end
return #removed
"""

# KEYS: lease, record, index
# ARGV: token, hold, now, ttl, new CLI session id, model ('' = none), session id
# The index set is pruned of expired ids here and lives as long as its newest record.
ACQUIRE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local now = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local old = redis.call('HMGET', KEYS[2], 'claude', 'expires', 'turns')
local created = 0
local replaced = ''
if not old[1] or tonumber(old[2]) <= now or tonumber(old[3]) == 0 then
  if old[1] then replaced = old[1] end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'claude', ARGV[5], 'created', ARGV[3], 'last', ARGV[3],
             'turns', '0', 'model', ARGV[6])
  created = 1
end
redis.call('HSET', KEYS[2], 'expires', string.format('%d', now + ttl))
redis.call('PEXPIRE', KEYS[2], ttl + tonumber(ARGV[2]))
redis.call('ZADD', KEYS[3], now + ttl, ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local keep = ttl + tonumber(ARGV[2])
if redis.call('PTTL', KEYS[3]) < keep then redis.call('PEXPIRE', KEYS[3], keep) end
return {created, replaced, redis.call('HGETALL', KEYS[2])}
"""

# KEYS: lease, record.  ARGV: token, hold
RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local left = redis.call('PTTL', KEYS[2])
if left >= 0 and left < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
"""

# KEYS: lease, record, index.  ARGV: token, now, ttl, model ('' = keep), session id
COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local expires = tonumber(ARGV[2]) + tonumber(ARGV[3])
redis.call('HINCRBY', KEYS[2], 'turns', 1)
redis.call('HSET', KEYS[2], 'last', ARGV[2], 'expires', string.format('%d', expires))
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'model', ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) + math.max(redis.call('PTTL', KEYS[1]), 0))
redis.call('ZADD', KEYS[3], expires, ARGV[5])
local keep = redis.call('PTTL', KEYS[2])
if redis.call('PTTL', KEYS[3]) < keep then redis.call('PEXPIRE', KEYS[3], keep) end
return redis.call('HGETALL', KEYS[2])
"""

# KEYS: lease, record, index.  ARGV: token, discard ('1'/'0'), session id, now
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local left = -1
if ARGV[2] ~= '1' then
  left = tonumber(redis.call('HGET', KEYS[2], 'expires') or '0') - tonumber(ARGV[4])
end
if left <= 0 then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[3])
else
  redis.call('PEXPIRE', KEYS[2], math.floor(left))
end
return 1
"""

# KEYS: lease, record, index.  ARGV: session id
DELETE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {1, {}} end
local record = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return {0, record}
"""
