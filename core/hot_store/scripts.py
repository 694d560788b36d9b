"""The Lua scripts of `RedisStore` (each runs atomically in Redis, one round trip)."""

# The bucket (`core.token_bucket` holds the same arithmetic, tested against this script): KEYS[1] is a
# string "<tokens> <updated at>"; ARGV[1] rate, ARGV[2] burst, ARGV[3] expiry in ms. Sets `wait` (-1:
# allowed; else seconds until a token is back, a huge number when never).
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = -1
if ARGV[4] == '1' then
  local rate = tonumber(ARGV[1])
  local burst = tonumber(ARGV[2])
  local tokens = burst
  local at = now
  local state = redis.call('GET', KEYS[1])
  if state then
    local space = string.find(state, ' ', 1, true)
    tokens = tonumber(string.sub(state, 1, space - 1))
    at = tonumber(string.sub(state, space + 1))
  end
  local elapsed = now - at
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tokens + elapsed * rate)
  if now > at then at = now end
  if tokens < 1 then
    wait = 1e12
    if rate > 0 and burst >= 1 then wait = (1 - tokens) / rate end
  else
    redis.call('SET', KEYS[1], string.format('%.17g %.17g', tokens - 1, at), 'PX', ARGV[3])
  end
end
"""

# An application's quotas (`core.quotas`): `quota_take(values, counts, application, defaults, shards,
# first, last)` checks the windows first..last (1 tokens per hour, 2 tokens per day, 3 registrations
# per hour) and, when none is full, counts one in each. `values` is a hash: application id ->
# "<tokens/hour> <tokens/day> <registrations/hour>" ('-' for the default of `defaults`, same form; 0 no
# limit). `counts` is a hash: "<application id>|<window>" -> "<window index> <count>" (a count of an
# older window index reads as 0, so nothing expires and a hash holds at most three fields per
# application). A limit is shared by `shards` counters (`ClusterStore`), each allowed ceil(limit /
# shards). Returns nil, or {window, seconds until it resets, limit} without counting anything. Needs
# `now` (`_BUCKET_LUA`).
_QUOTA_LUA = """
local function quota_take(values, counts, application, defaults, shards, first, last)
  local limits = {}
  for value in string.gmatch(defaults, '%S+') do limits[#limits + 1] = tonumber(value) end
  local own = redis.call('HGET', values, application)
  if own then
    local i = 0
    for value in string.gmatch(own, '%S+') do
      i = i + 1
      if value ~= '-' then limits[i] = tonumber(value) end
    end
  end
  local windows = {3600, 86400, 3600}
  local checked, fields = {}, {}
  for k = first, last do
    if (limits[k] or 0) > 0 then
      checked[#checked + 1] = k
      fields[#fields + 1] = application .. '|' .. k
    end
  end
  if #fields == 0 then return nil end
  local entries = redis.call('HMGET', counts, unpack(fields))
  local writes = {}
  for i, k in ipairs(checked) do
    local index = math.floor(now / windows[k])
    local count = 0
    local entry = entries[i]
    if entry then
      local space = string.find(entry, ' ', 1, true)
      if tonumber(string.sub(entry, 1, space - 1)) == index then count = tonumber(string.sub(entry, space + 1)) end
    end
    if count >= math.ceil(limits[k] / tonumber(shards)) then
      return {k, string.format('%.3f', (index + 1) * windows[k] - now), limits[k]}
    end
    writes[#writes + 1] = fields[i]
    writes[#writes + 1] = string.format('%d %d', index, count + 1)
  end
  redis.call('HSET', counts, unpack(writes))
  return nil
end
"""

# KEYS[1] bucket, KEYS[2] quota values, KEYS[3] quota counts, KEYS[4] stamps...; ARGV[1..4] bucket,
# ARGV[5] since, ARGV[6] the application whose registrations to count ('' none), ARGV[7] the quota
# defaults, ARGV[8] shards. Returns {allowed, wait, stale}, or {0, wait, 1, window, limit} when the
# application's registrations per hour are used up (nothing counted). Stale (a stamp at or after
# `since`) counts nothing: the statement is verified again, and its registration counted then.
THROTTLE_SCRIPT = (
    _BUCKET_LUA
    + _QUOTA_LUA
    + """
if wait >= 0 then return {0, string.format('%.6f', wait), 1} end
local stale = 0
if #KEYS >= 4 then
  local since = tonumber(ARGV[5])
  local stamps = redis.call('MGET', unpack(KEYS, 4))
  for i = 1, #stamps do
    local value = tonumber(stamps[i])
    if value ~= nil and value >= since then stale = 1 end
  end
end
if stale == 0 and ARGV[6] ~= '' then
  local refused = quota_take(KEYS[2], KEYS[3], ARGV[6], ARGV[7], ARGV[8], 3, 3)
  if refused then return {0, refused[2], 1, refused[1], refused[3]} end
end
return {1, '0', stale}
"""
)

# --- Abuse signals (`core.hot_store.signal_counts`): counted in the scripts a registration and a token
# already run. KEYS[#KEYS - 2] is the signals' pending hash (the quota's two keys
# follow it). ARGV[17] the hour ('' counts nothing). A client's
# first token is counted in its hour and remembered in the record's field 'f1'; its second under that
# hour, and 'f1' becomes '-': after the second token nothing more is written.
_SIGNALS_TOKEN_LUA = """
if ARGV[12] == '1' and ARGV[17] ~= '' and r[13] ~= '-' then
  local statement = '|' .. r[4] .. '|' .. r[5] .. '|'
  if not r[13] then
    redis.call('HSET', KEYS[2], 'f1', ARGV[17])
    redis.call('HINCRBY', KEYS[#KEYS - 2], ARGV[17] .. statement .. 'first', 1)
  else
    redis.call('HSET', KEYS[2], 'f1', '-')
    redis.call('HINCRBY', KEYS[#KEYS - 2], r[13] .. statement .. 'second', 1)
  end
end
"""
# A registration: KEYS[4] the signals' pending hash, KEYS[5] the hour's networks. ARGV[6] the pending
# fields' prefix ("<hour>|<application>|<statement>|"), ARGV[7] the platform X-Device-Info named when the
# application was not made for it ('' otherwise), ARGV[8] the network's field ('' none), ARGV[9] the
# networks hash's lifetime in seconds.
_SIGNALS_REGISTERED_LUA = """
redis.call('HINCRBY', KEYS[4], ARGV[6] .. 'reg', 1)
if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[6] .. 'foreign:' .. ARGV[7], 1) end
if ARGV[8] ~= '' and redis.call('HINCRBY', KEYS[5], ARGV[8], 1) == 1 then redis.call('EXPIRE', KEYS[5], ARGV[9]) end
"""
# --- End of the abuse signals' blocks (two more uses below: REGISTERED_SCRIPT, CLUSTER_REGISTERED_SCRIPT).

# KEYS[1] bucket, KEYS[2] record, KEYS[3] usage pending, KEYS[4] last-used pending, KEYS[5] signals
# pending; the last two KEYS the quota values and counts (`_QUOTA_LUA`).
# ARGV[1..4] bucket (ARGV[4] '1' to throttle), ARGV[5] client id, ARGV[6] the secret's hash under the
# current key, ARGV[7] requested scopes ('' for all), ARGV[8] stamp prefix, ARGV[9] stamp margin,
# ARGV[10] day, ARGV[11] last-use interval, ARGV[12] '1' to count, ARGV[13] application prefix, ARGV[14] the environment
# asked (a record of another environment, or one written before environments, reads as missing),
# ARGV[15] the quota defaults, ARGV[16] shards, ARGV[17] the signals' hour. Counting checks the application's
# token quotas first.
# The secret passes when its hash is the record's 'h', or its 'h2' (the secret a rotation replaced)
# while Redis's clock is before 'hx'.
# Returns {outcome, wait, packed, secret hash, last used, application, application id, statement jti,
# previous secret hash, its expiry} (see Outcome), or {6, wait, window, limit} (Outcome.QUOTA).
CLIENT_SCRIPT = (
    _BUCKET_LUA
    + _QUOTA_LUA
    + """
if wait >= 0 then return {0, string.format('%.6f', wait)} end
local r = redis.call('HMGET', KEYS[2], 'r', 'h', 'w', 'a', 's', 'p', 'sc', 'lu', 'pk', 'e', 'h2', 'hx', 'f1')
if not r[1] or r[10] ~= ARGV[14] then return {1, '0'} end
local since = tonumber(r[3]) - tonumber(ARGV[9])
local prefix = ARGV[8]
local stamps = redis.call('MGET', prefix .. 'app:' .. r[4], prefix .. 'stmt:' .. r[5], prefix .. 'client:' .. ARGV[5])
for i = 1, 3 do
  local value = tonumber(stamps[i])
  if value ~= nil and value >= since then
    -- Stale: forgotten here, so that the read-through's write (RECORD_FILL_SCRIPT) can replace it.
    redis.call('DEL', KEYS[2])
    return {2, '0'}
  end
end
local application = redis.call('GET', ARGV[13] .. r[4])
local previous = r[11] or ''
local previous_until = r[12] or '0'
if r[2] ~= ARGV[6] and not (previous ~= '' and previous == ARGV[6] and now < tonumber(previous_until)) then
  return {3, '0', r[1], r[2], r[8] or '0', application, r[4], r[5], previous, previous_until}
end
if ARGV[7] ~= '' then
  for scope in string.gmatch(ARGV[7], '%S+') do
    if not string.find(r[7], ' ' .. scope .. ' ', 1, true) then
      return {4, '0', r[1], r[2], r[8] or '0', application, r[4], r[5], previous, previous_until}
    end
  end
end
local last_used = tonumber(r[8] or '0')
if ARGV[12] == '1' then
  local refused = quota_take(KEYS[#KEYS - 1], KEYS[#KEYS], r[4], ARGV[15], ARGV[16], 1, 2)
  if refused then return {6, refused[2], refused[1], refused[3]} end
  redis.call('HINCRBY', KEYS[3], ARGV[10] .. '|' .. r[4] .. '|' .. r[6] .. '|tokens', 1)
  if now - last_used >= tonumber(ARGV[11]) then
    last_used = math.floor(now)
    redis.call('HSET', KEYS[4], r[9], string.format('%d', last_used))
    redis.call('HSET', KEYS[2], 'lu', string.format('%d', last_used))
  end
end
"""
    + _SIGNALS_TOKEN_LUA
    + """
return {5, '0', r[1], r[2], string.format('%d', last_used), application, r[4], r[5], previous, previous_until}
"""
)

# A registration's writes, at once as MULTI/EXEC made them (`RedisStore.client_registered`): the new
# client's record whole, its application's data, the registration counted. KEYS[1] record, KEYS[2]
# application, KEYS[3] usage pending, KEYS[4..5] the signals'. ARGV[1] record expiry, ARGV[2] application
# expiry, ARGV[3] the application's data, ARGV[4] usage field, ARGV[5] '1' when the record has no rotated
# secret (its fields are dropped), ARGV[6..9] the signals', then field, value, field, value... of the record.
REGISTERED_SCRIPT = (
    """
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
if ARGV[5] == '1' then redis.call('HDEL', KEYS[1], 'h2', 'hx') end  -- formats.ROTATED_FIELDS
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
"""
    + _SIGNALS_REGISTERED_LUA
    + """
return 1
"""
)

# A token counted and, at most once per interval, the client's use recorded (in the last-use hash and
# in its record, when there is one), after the application's token quotas are checked (`_QUOTA_LUA`;
# refused: {window, wait, limit} returned, nothing counted). KEYS[1] usage pending, KEYS[2] last-used
# pending, KEYS[3] record, KEYS[4] quota values, KEYS[5] quota counts. ARGV[1] usage field, ARGV[2]
# client pk, ARGV[3] last used known, ARGV[4] interval, ARGV[5] the application, ARGV[6] quota
# defaults, ARGV[7] shards. Sets `last_used`.
_COUNT_LUA = (
    "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"
    + _QUOTA_LUA
    + """
local refused = quota_take(KEYS[4], KEYS[5], ARGV[5], ARGV[6], ARGV[7], 1, 2)
if refused then return refused end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
now = math.floor(now)
local last_used = tonumber(ARGV[3])
if now - last_used >= tonumber(ARGV[4]) then
  last_used = now
  redis.call('HSET', KEYS[2], ARGV[2], string.format('%d', now))
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'lu', string.format('%d', now)) end
end
"""
)

# Returns the last use now recorded (or a quota's refusal).
COUNTED_SCRIPT = (
    _COUNT_LUA
    + """
return string.format('%d', last_used)
"""
)

# The read-through's write (`oauth.records.client_record_fill`, after a miss), and the token counted
# when the client authenticated (`_COUNT_LUA`): one round trip. KEYS and ARGV[1..7] as `_COUNT_LUA`
# (ARGV[1] '' when nothing is counted), ARGV[8] the record's expiry in seconds, ARGV[9..] its fields and
# values. Writes only where no current record is (one with an environment 'e'; a partial or
# pre-environment hash is replaced whole): the read may have begun before a change committed whose own
# write (registration, rotation, re-hash) came first, and the record written last must not be the older
# one. The record is written even when a quota refuses the token (it is the database's, not the
# request's). Returns the last use now recorded, or a quota's refusal.
RECORD_FILL_SCRIPT = (
    """
if redis.call('HEXISTS', KEYS[3], 'e') == 0 then
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[3], unpack(ARGV, 9))
  redis.call('EXPIRE', KEYS[3], ARGV[8])
end
if ARGV[1] == '' then return ARGV[3] end
"""
    + _COUNT_LUA
    + """
return string.format('%d', last_used)
"""
)

# KEYS[1] stamp, KEYS[2] the newest stamp of each kind (a hash). ARGV[1] time, ARGV[2] expiry in
# seconds, ARGV[3] kind. Keeps the newest stamp if two race.
STAMP_SCRIPT = """
local at = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < at then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
local newest = tonumber(redis.call('HGET', KEYS[2], ARGV[3]))
if newest == nil or newest < at then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""
# The newest stamp of each kind: a bearer check whose token is newer than every stamp of the kinds it
# names needs no stamp of its own read (the common case: revocations are rare next to tokens). Trusted
# only once its field `complete` says every stamp in Redis went through the script that keeps it (set
# by a full republish pass; gone with everything else if Redis loses its data).
NEWEST_STAMPS_KEY = "dcr:revoked-newest"
NEWEST_COMPLETE = "complete"


# --- Redis Cluster (`ClusterStore`) ----------------------------------------------------------------
# A script there must name every key it touches in KEYS (a key it builds itself is refused while its
# slot migrates), and the gate cannot know a client's application and statement before it reads the
# record. So each shard keeps the stamps of applications and statements as fields of one hash
# (`{tag}:dcr:revoked:shared`, field "app:<id>" / "stmt:<jti>") and the applications' parts as fields
# of another (`{tag}:dcr:apps`, value "<expires at> <packed>", as hash fields do not expire in Redis 7.0).

_CLUSTER_STAMPS_READ = """local shared = redis.call('HMGET', KEYS[6], 'app:' .. r[4], 'stmt:' .. r[5])
local stamps = {shared[1], shared[2], redis.call('GET', KEYS[5])}"""
_CLUSTER_APPLICATION_READ = """local application = false
local entry = redis.call('HGET', KEYS[7], r[4])
if entry then
  local space = string.find(entry, ' ', 1, true)
  if tonumber(string.sub(entry, 1, space - 1)) > now then application = string.sub(entry, space + 1) end
end"""
_STAMPS_READ = (
    "local stamps = redis.call('MGET', prefix .. 'app:' .. r[4], prefix .. 'stmt:' .. r[5], "
    "prefix .. 'client:' .. ARGV[5])"
)
_APPLICATION_READ = "local application = redis.call('GET', ARGV[13] .. r[4])"
assert _STAMPS_READ in CLIENT_SCRIPT and _APPLICATION_READ in CLIENT_SCRIPT
# CLIENT_SCRIPT with KEYS[5] the client's stamp, KEYS[6] the shard's shared stamps, KEYS[7] its
# applications (ARGV[8] and ARGV[13] unused).
CLUSTER_CLIENT_SCRIPT = CLIENT_SCRIPT.replace(_STAMPS_READ, _CLUSTER_STAMPS_READ).replace(
    _APPLICATION_READ, _CLUSTER_APPLICATION_READ
)

# THROTTLE_SCRIPT with KEYS[2] the shard's shared stamps, KEYS[3] and KEYS[4] its quota values and
# counts, and ARGV[9..] the stamp fields to compare (ARGV[6..8] as THROTTLE_SCRIPT's).
CLUSTER_THROTTLE_SCRIPT = (
    _BUCKET_LUA
    + _QUOTA_LUA
    + """
if wait >= 0 then return {0, string.format('%.6f', wait), 1} end
local stale = 0
if #ARGV >= 9 then
  local since = tonumber(ARGV[5])
  local stamps = redis.call('HMGET', KEYS[2], unpack(ARGV, 9))
  for i = 1, #stamps do
    local value = tonumber(stamps[i])
    if value ~= nil and value >= since then stale = 1 end
  end
end
if stale == 0 and ARGV[6] ~= '' then
  local refused = quota_take(KEYS[3], KEYS[4], ARGV[6], ARGV[7], ARGV[8], 3, 3)
  if refused then return {0, refused[2], 1, refused[1], refused[3]} end
end
return {1, '0', stale}
"""
)

# KEYS[1] a stamp key (a client's or token's); ARGV[1] time, ARGV[2] expiry in seconds. Keeps the newest.
STAMP_SET_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""

# KEYS[1] a hash of stamps (a shard's shared stamps, or the newest of each kind); ARGV[1] time,
# ARGV[2] field. Keeps the newest.
STAMP_FIELD_SCRIPT = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[2]))
if current == nil or current < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
end
return 1
"""

# KEYS[1] a shard's applications; ARGV[1] application id, ARGV[2] its part, ARGV[3] seconds to keep it.
APPLICATION_PUT_SCRIPT = """
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', tonumber(t[1]) + tonumber(ARGV[3])) .. ' ' .. ARGV[2])
return 1
"""

# A record written whole, replacing what is stored (a cluster pipeline's transaction is one slot; a
# script is as atomic, and one call). KEYS[1] the record, KEYS[2] the shard's applications, KEYS[3]
# its usage hash. ARGV[1] the record's expiry in seconds, ARGV[2] its application id ('' to leave the
# application's part), ARGV[3] that part, ARGV[4] its lifetime, ARGV[5] a usage field to count ('' none),
# ARGV[6..] the record's fields and values.
RECORD_PUT_SCRIPT = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[2], ARGV[2], string.format('%d', tonumber(t[1]) + tonumber(ARGV[4])) .. ' ' .. ARGV[3])
end
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[5], 1) end
return 1
"""

# The periodic prune of a shard's hashes (Redis 7.0 has no expiry on hash fields). KEYS[1] the shard's
# shared stamps, KEYS[2] its applications' parts; ARGV[1] the time before which a stamp can no longer
# matter (older than any token or client record it could refuse). Drops those stamps and the
# applications' parts that have expired; returns how many fields it dropped.
PRUNE_SCRIPT = """
local before = tonumber(ARGV[1])
local now = tonumber(redis.call('TIME')[1])
local dropped = 0
local stamps = redis.call('HGETALL', KEYS[1])
for i = 1, #stamps, 2 do
  if tonumber(stamps[i + 1]) < before then dropped = dropped + redis.call('HDEL', KEYS[1], stamps[i]) end
end
local applications = redis.call('HGETALL', KEYS[2])
for i = 1, #applications, 2 do
  local entry = applications[i + 1]
  local expires = tonumber(string.sub(entry, 1, string.find(entry, ' ', 1, true) - 1))
  if expires <= now then dropped = dropped + redis.call('HDEL', KEYS[2], applications[i]) end
end
return dropped
"""

# A registration on a cluster: RECORD_PUT_SCRIPT with the signals' block (KEYS[4..5] in the client's
# shard, ARGV[6..9] as in REGISTERED_SCRIPT, the record's fields from ARGV[10]).
_RECORD_PUT_FIELDS = "redis.call('HSET', KEYS[1], unpack(ARGV, 6))"
assert _RECORD_PUT_FIELDS in RECORD_PUT_SCRIPT
CLUSTER_REGISTERED_SCRIPT = RECORD_PUT_SCRIPT.replace(
    _RECORD_PUT_FIELDS, "redis.call('HSET', KEYS[1], unpack(ARGV, 10))"
).replace("\nreturn 1\n", "\n" + _SIGNALS_REGISTERED_LUA + "return 1\n")
