"""A keyed inverted index in Redis: member -> keys, key -> members. Used for watch entries and for the
materialised lists, so that a lookup touches only the sets of the keys asked for.

Layout under ``{namespace}:{name}``: ``:k:{key}`` sets of members, ``:m:{member}`` the member's keys (so
that re-indexing removes what is no longer true). Updates run in one MULTI/EXEC transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from contracts.settings import CommonSettings

# A key shared by more members than this says nothing about any of them (think "t:china"); skipped.
MAX_KEY_MEMBERS = 5000


class RedisIndex:
    def __init__(self, redis: Redis, settings: CommonSettings, name: str) -> None:
        self._redis = redis
        self._prefix = settings.redis_key(name)

    def _k(self, key: str) -> str:
        return f"{self._prefix}:k:{key}"

    def _m(self, member: str) -> str:
        return f"{self._prefix}:m:{member}"

    async def replace(self, member: str, keys: Iterable[str], pipe: Pipeline | None = None) -> None:
        """Index ``member`` under exactly ``keys`` (nothing when empty), in ``pipe`` if given."""
        if pipe is None:
            async with self._redis.pipeline(transaction=True) as own:
                await self.replace_many([(member, set(keys))], own)
                await own.execute()
        else:
            await self.replace_many([(member, set(keys))], pipe)

    async def replace_many(self, items: list[tuple[str, set[str]]], pipe: Pipeline) -> None:
        """``replace`` for many members: their current keys read in one round trip, the updates queued."""
        async with self._redis.pipeline(transaction=False) as reads:
            for member, _ in items:
                reads.smembers(self._m(member))
            olds: list[set[bytes | str]] = await reads.execute()
        for (member, new), old in zip(items, olds, strict=True):
            self._queue(pipe, member, {k.decode() if isinstance(k, bytes) else k for k in old}, new)

    def _queue(self, p: Pipeline, member: str, old: set[str], new: set[str]) -> None:
        for key in old - new:
            p.srem(self._k(key), member)
        for key in new - old:
            p.sadd(self._k(key), member)
        p.delete(self._m(member))
        if new:
            p.sadd(self._m(member), *sorted(new))

    async def lookup(self, keys: Iterable[str], limit: int) -> list[tuple[str, int]]:
        """Members sharing the most keys first (ties by name), at most ``limit``; oversized keys skipped."""
        keys = sorted(set(keys))
        if not keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.scard(self._k(key))
            sizes: list[int] = await pipe.execute()
        usable = [k for k, n in zip(keys, sizes, strict=True) if 0 < n <= MAX_KEY_MEMBERS]
        if not usable:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in usable:
                pipe.smembers(self._k(key))
            results: list[set[bytes]] = await pipe.execute()
        hits: Counter[str] = Counter()
        for members in results:
            hits.update(m.decode() for m in members)
        return sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
