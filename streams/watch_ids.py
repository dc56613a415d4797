"""Each subscriber's watch ids in order, compactly: small sorted chunks that page them by id and count them.

Layout under the namespace (``{ns}:``):
- ``wids:{subscriber}``: the subscriber's chunks, by the lowest id each may hold (a sorted set read by lex);
- ``wchunk:{subscriber}<US>{bound}``: a sorted set of up to ``CHUNK_MAX`` ids from ``bound`` up, which Redis
  keeps as a compact listpack (a chunk that would outgrow it splits in two first);
- ``wcount``: subscriber -> how many ids its chunks hold.
A sorted set of all a subscriber's ids (a skiplist past 128) took about 100 bytes per watch at 1M watches; the
chunks take about 15 (bench/redis_memory.py). The records themselves stay in the subscriber's hash
(streams/watchlists.py), read with one HMGET per subscriber on the matcher's path.

Written before: ``watchids:{subscriber}``, a sorted set of the ids (and, earlier still, none: the hash alone).
Paged and counted with the chunks until ``migrate_step`` moves them (the alerts service runs it when it
starts); ids a hash holds that neither place knows are added to the chunks (``repair``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from contracts.clients import text
from contracts.settings import CommonSettings
from streams.index import LUA_SPLIT, joined

# Ids per chunk: Redis keeps a sorted set of up to 128 (zset-max-listpack-entries) as a compact listpack.
CHUNK_MAX = 128

_COMMON = """
local CHUNK_MAX = @CHUNK_MAX@
local function dir(ns, sub) return ns .. 'wids:' .. sub end
local function chunk(ns, sub, bound) return ns .. 'wchunk:' .. sub .. '\\31' .. bound end
@SPLIT@-- The bound of the chunk that holds (or would hold) ``id``: the greatest bound not above it.
local function find(ns, sub, id)
  return redis.call('ZREVRANGEBYLEX', dir(ns, sub), '[' .. id, '-', 'LIMIT', 0, 1)[1]
end
-- 1 when ``id`` was not there yet.
local function insert(ns, sub, id)
  local d = dir(ns, sub)
  local b = find(ns, sub, id)
  if not b then
    -- below every bound (or the first id): the first chunk's bound comes down to it
    local first = redis.call('ZRANGE', d, 0, 0)[1]
    if first then
      if redis.call('EXISTS', chunk(ns, sub, first)) == 1 then
        redis.call('RENAME', chunk(ns, sub, first), chunk(ns, sub, id))
      end
      redis.call('ZREM', d, first)
    end
    redis.call('ZADD', d, 0, id)
    b = id
  end
  local c = chunk(ns, sub, b)
  if redis.call('ZSCORE', c, id) then return 0 end
  if redis.call('ZCARD', c) >= CHUNK_MAX then
    -- split before adding: a sorted set that once held more stays a skiplist when it shrinks
    local upper = redis.call('ZRANGE', c, math.floor(CHUNK_MAX / 2), -1)
    local args = {}
    for _, m in ipairs(upper) do args[#args + 1] = 0; args[#args + 1] = m end
    redis.call('ZADD', chunk(ns, sub, upper[1]), unpack(args))
    redis.call('ZREM', c, unpack(upper))
    redis.call('ZADD', d, 0, upper[1])
    c = chunk(ns, sub, find(ns, sub, id))
  end
  return redis.call('ZADD', c, 0, id)
end
-- 1 when ``id`` was there. An emptied chunk goes with its bound (ids above it fall to the chunk before).
local function delete(ns, sub, id)
  local b = find(ns, sub, id)
  if not b then return 0 end
  local c = chunk(ns, sub, b)
  local gone = redis.call('ZREM', c, id)
  if gone == 1 and redis.call('EXISTS', c) == 0 then redis.call('ZREM', dir(ns, sub), b) end
  return gone
end
local function count(ns, sub, by)
  if by ~= 0 then redis.call('HINCRBY', ns .. 'wcount', sub, by) end
end
""".replace("@CHUNK_MAX@", str(CHUNK_MAX)).replace("@SPLIT@", LUA_SPLIT)

# ARGV: ns, subscriber, then ids to add joined, ids to remove joined. (The sorted set written before loses them.)
_CHANGE = _COMMON + """
local ns, sub = ARGV[1], ARGV[2]
local old = ns .. 'watchids:' .. sub
for _, id in ipairs(split(ARGV[3])) do
  redis.call('ZREM', old, id)
  count(ns, sub, insert(ns, sub, id))
end
for _, id in ipairs(split(ARGV[4])) do
  redis.call('ZREM', old, id)
  count(ns, sub, -delete(ns, sub, id))
end
return 1
"""

# ARGV: ns, subscriber, after ('' for the first), how many. Up to that many ids after ``after`` from the
# chunks, and as many from the sorted set written before: merged by the caller.
_PAGE = _COMMON + """
local ns, sub, after, want = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local d = dir(ns, sub)
local low = '-'
local b = redis.call('ZRANGE', d, 0, 0)[1]
if after ~= '' then
  low = '(' .. after
  b = find(ns, sub, after) or b
end
local out = {}
while b and #out < want do
  for _, id in ipairs(redis.call('ZRANGEBYLEX', chunk(ns, sub, b), low, '+', 'LIMIT', 0, want - #out)) do
    out[#out + 1] = id
  end
  b = redis.call('ZRANGEBYLEX', d, '(' .. b, '+', 'LIMIT', 0, 1)[1]
end
return {out, redis.call('ZRANGEBYLEX', ns .. 'watchids:' .. sub, low, '+', 'LIMIT', 0, want)}
"""

# ARGV: ns, subscriber, the subscriber's hash. The ids held here and there, and the records in the hash.
_COUNT = """
local ns, sub = ARGV[1], ARGV[2]
return {tonumber(redis.call('HGET', ns .. 'wcount', sub) or '0'), redis.call('ZCARD', ns .. 'watchids:' .. sub),
        redis.call('HLEN', ARGV[3])}
"""

# ARGV: ns, subscriber, the subscriber's hash. Ids of its records that neither the chunks nor the sorted set
# written before know (a hash written before either existed) go to the chunks: once, in one script (a hash of
# a million would hold Redis for seconds; those hashes date from the first sessions, demo-sized).
_REPAIR = _COMMON + """
local ns, sub = ARGV[1], ARGV[2]
local old = ns .. 'watchids:' .. sub
for _, id in ipairs(redis.call('HKEYS', ARGV[3])) do
  if not redis.call('ZSCORE', old, id) then count(ns, sub, insert(ns, sub, id)) end
end
return 1
"""

# ARGV: ns, subscriber, how many. Moves that many ids of the sorted set written before to the chunks; how
# many are left there.
_MIGRATE = _COMMON + """
local ns, sub, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local old = ns .. 'watchids:' .. sub
for _, id in ipairs(redis.call('ZRANGE', old, 0, n - 1)) do
  count(ns, sub, insert(ns, sub, id))
  redis.call('ZREM', old, id)
end
return redis.call('ZCARD', old)
"""


class WatchIds:
    """A subscriber's watch ids, in order, counted."""

    def __init__(self, redis: Redis, settings: CommonSettings, records: Callable[[str], str]) -> None:
        """``records``: the key of a subscriber's hash of records (streams/watchlists.py), read for its ids."""
        self._redis = redis
        self._settings = settings
        self._ns = settings.redis_key("")
        self.records = records

    def legacy(self, subscriber_id: str) -> str:
        return self._settings.redis_key("watchids", subscriber_id)

    def change(self, subscriber_id: str, added: Sequence[str], removed: Sequence[str], pipe: Pipeline) -> None:
        """Queue in ``pipe`` (one script call) the ids that are now there and those that are gone."""
        if added or removed:
            pipe.eval(_CHANGE, 0, self._ns, subscriber_id, joined(added, "a watch id"), joined(removed, "a watch id"))

    async def page(self, subscriber_id: str, after: str | None, want: int) -> list[str]:
        """Up to ``want`` of the subscriber's ids after ``after``, in order."""
        await self._repaired(subscriber_id)
        new, legacy = await self._redis.eval(_PAGE, 0, self._ns, subscriber_id, after or "", want)
        return sorted({text(i) for i in (*new, *legacy)})[:want]

    async def count(self, subscriber_id: str) -> int:
        return sum(await self._repaired(subscriber_id))

    async def migrate_step(self, subscriber_id: str, n: int = 500) -> int:
        """Move up to ``n`` (at least one) of the subscriber's ids from the sorted set written before; how many
        are left."""
        if n < 1:
            raise ValueError(f"a step moves at least one id, not {n}")
        await self._repaired(subscriber_id)
        return int(await self._redis.eval(_MIGRATE, 0, self._ns, subscriber_id, n))

    async def _repaired(self, subscriber_id: str) -> tuple[int, int]:
        """(ids in the chunks, ids in the sorted set written before), once the hash's ids are all in one."""
        new, legacy, records = await self._redis.eval(_COUNT, 0, self._ns, subscriber_id, self.records(subscriber_id))
        if records > new + legacy:
            await self._redis.eval(_REPAIR, 0, self._ns, subscriber_id, self.records(subscriber_id))
            new, legacy, _ = await self._redis.eval(_COUNT, 0, self._ns, subscriber_id, self.records(subscriber_id))
        return int(new), int(legacy)

