//! The Lua scripts the Redis broker runs: each is atomic in Redis, so a room's
//! number is assigned once for every node, and a room's epoch is created once.
//!
//! Keys of one room share its hash tag (`{room}`), so a script only touches
//! keys of one Redis Cluster slot.

use std::sync::LazyLock;

use redis::Script;

/// Publishes a message: creates the room's epoch when its meta hash is missing
/// (its history is then dropped: numbers start again at 1), takes the next
/// number, forgets the oldest messages of the history stream that would take
/// it past its size in messages or in bytes (the meta hash's `bytes` counts
/// the stream's text; the newest message is kept whatever its size), appends
/// the message under that number (as entry id `<seq>-0`), refreshes the TTLs,
/// and sends `<seq> <epoch> <time ms> <frame>` on the room's channel.
///
/// Each message is stored with this node's number for the publish (field
/// `p`, `<node>:<n>`). A publish sent again (`again` = `1`: its first attempt
/// may have run before its reply was lost) first looks for its number among
/// the room's last messages, newest first, and answers with the message it
/// finds rather than publish twice; it stops at an older publish of the same
/// node, or after `history` messages.
///
/// KEYS: meta, history. ARGV: frame, history size, history TTL (ms), meta TTL
/// (ms), a fresh epoch, channel, history bytes, this node's number for the
/// publish, again. Returns `{epoch, seq}`.
pub(super) static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[5]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
elseif ARGV[9] == '1' then
  local node, n = string.match(ARGV[8], '^(.+):(%d+)$')
  n = tonumber(n)
  local from = '+'
  local left = tonumber(ARGV[2])
  while left > 0 do
    local entries = redis.call('XREVRANGE', KEYS[2], from, '-', 'COUNT', 8)
    if #entries == 0 then
      break
    end
    for _, e in ipairs(entries) do
      left = left - 1
      local fields = e[2]
      for i = 1, #fields - 1, 2 do
        if fields[i] == 'p' then
          local en, ec = string.match(fields[i + 1], '^(.+):(%d+)$')
          if en == node then
            ec = tonumber(ec)
            if ec == n then
              return {epoch, tonumber(string.match(e[1], '^(%d+)'))}
            end
            if ec < n then
              left = 0
            end
          end
        end
      end
      if left <= 0 then
        break
      end
    end
    from = '(' .. entries[#entries][1]
  end
end
local seq = redis.call('HINCRBY', KEYS[1], 'top', 1)
local id = string.format('%d', seq)
local size = string.len(ARGV[1])
local count = redis.call('XLEN', KEYS[2])
local bytes = 0
if count > 0 then
  bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
end
local max_count = tonumber(ARGV[2])
local max_bytes = tonumber(ARGV[7])
local from = '-'
local dropped = nil
while count > 0 and (count >= max_count or bytes + size > max_bytes) do
  local oldest = redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', 1)
  if #oldest == 0 then
    break
  end
  bytes = bytes - string.len(oldest[1][2][2])
  count = count - 1
  dropped = oldest[1][1]
  from = '(' .. dropped
end
if dropped then
  redis.call('XTRIM', KEYS[2], 'MINID', string.match(dropped, '^%d+') .. '-1')
end
if count == 0 or bytes < 0 then
  bytes = 0
end
redis.call('XADD', KEYS[2], id .. '-0', 'd', ARGV[1], 'p', ARGV[8])
redis.call('HSET', KEYS[1], 'bytes', bytes + size)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local now = redis.call('TIME')
local ms = string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000))
redis.call('PUBLISH', ARGV[6], id .. ' ' .. epoch .. ' ' .. ms .. ' ' .. ARGV[1])
return {epoch, seq}
",
    )
});

/// Reads a room: its epoch (created, with an empty history, when the meta hash
/// is missing) and last number, and up to `count` messages of its history from
/// number `from` (none when `count` is 0). When the caller knew the room's
/// epoch with a higher last number than Redis now has (Redis lost writes it
/// had confirmed, restarting from an older snapshot), the room restarts in a
/// new epoch, so that no number is given to two messages.
///
/// KEYS: meta, history. ARGV: from, count, a fresh epoch, meta TTL (ms), the
/// epoch the caller knows, the last number it saw. Returns
/// `{epoch, top, {{id, {field, value}}...}}`.
pub(super) static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch and epoch == ARGV[5] and tonumber(redis.call('HGET', KEYS[1], 'top') or '0') < tonumber(ARGV[6]) then
  epoch = nil
end
if not epoch then
  epoch = ARGV[3]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local top = tonumber(redis.call('HGET', KEYS[1], 'top') or '0')
local entries = {}
if tonumber(ARGV[2]) > 0 then
  entries = redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2])
end
return {epoch, top, entries}
",
    )
});

/// The last `count` messages of a room's history, newest first, with its epoch
/// and last number (an empty epoch when the room has none: reading history
/// creates nothing).
///
/// KEYS: meta, history. ARGV: count. Returns `{epoch, top, entries}`.
pub(super) static TAIL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local epoch = redis.call('HGET', KEYS[1], 'epoch') or ''
local top = tonumber(redis.call('HGET', KEYS[1], 'top') or '0')
local entries = {}
if epoch ~= '' and tonumber(ARGV[1]) > 0 then
  entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[1])
end
return {epoch, top, entries}
",
    )
});

/// Adds members (mode `join`) or pushes back the expiry of those still there
/// (mode `refresh`, which never brings back a member that left): each
/// member's expiry time (now plus the TTL) goes in the expiry set and its
/// description in the members hash; new members are announced on the presence
/// channel as `join <member>`.
///
/// KEYS: members hash, expiry set. ARGV: TTL (ms), channel, mode, then id and
/// member JSON pairs. Returns the number of members added.
pub(super) static JOIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = redis.call('TIME')
local expiry = now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[1])
local added = 0
for i = 4, #ARGV, 2 do
  if ARGV[3] == 'join' then
    if redis.call('ZADD', KEYS[2], expiry, ARGV[i]) == 1 then
      added = added + 1
      redis.call('PUBLISH', ARGV[2], 'join ' .. ARGV[i + 1])
    end
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  else
    redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[i])
  end
end
-- The keys outlive their members, so that a watching node's sweep sees the
-- expired members, and announces them, before the keys go.
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 3)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1]) * 3)
return added
",
    )
});

/// Removes members, announcing each one that was there as `leave <member>`.
///
/// KEYS: members hash, expiry set. ARGV: channel, then ids.
pub(super) static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for i = 2, #ARGV do
  local member = redis.call('HGET', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  if member then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('PUBLISH', ARGV[1], 'leave ' .. member)
  end
end
return 0
",
    )
});

/// The room's members: first those whose node stopped refreshing them are
/// removed (and announced as left), then the rest are returned.
///
/// KEYS: members hash, expiry set. ARGV: channel. Returns the members' JSON.
pub(super) static MEMBERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms)
for _, id in ipairs(expired) do
  local member = redis.call('HGET', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  if member then
    redis.call('HDEL', KEYS[1], id)
    redis.call('PUBLISH', ARGV[1], 'leave ' .. member)
  end
end
return redis.call('HVALS', KEYS[1])
",
    )
});
