"""A keyed inverted index in Redis: member -> keys, key -> members. Used for watch entries and for the
materialised lists, so that a lookup touches only the sets of the keys asked for.

Layout under ``{namespace}:{name}``: ``:k:{key}`` sets of members, ``:m:{member}`` the member's keys (so
that re-indexing removes what is no longer true). Updates run in one MULTI/EXEC transaction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from contracts.settings import CommonSettings

# A key shared by more members than this says nothing about any of them (think "t:china"); skipped.
MAX_KEY_MEMBERS = 5000
# Members scored per lookup: the ones sharing the rarest keys with the name looked up. List entries per
# watched company (50 lose nothing on the evaluation's dev part against 200, at a third of the time);
# watch entries per list change (many subscribers may watch one company, and all of them must hear of it).
MAX_CANDIDATES = 50
MAX_WATCH_CANDIDATES = 1000

M = TypeVar("M", bound=Hashable)


def rank(postings: Iterable[Iterable[M]], limit: int = MAX_CANDIDATES, ties: bool = False) -> list[M]:
    """The members of the keys' posting lists that share the most *rare* keys with the name looked up: a
    key weighs 1 / log2(1 + its size), so sharing "t:ryonha" says more than sharing "t:korea". Oversized keys
    (more than MAX_KEY_MEMBERS) are skipped. Order by weight, then member, so it is deterministic. With
    ``ties``, members that tie with the last one taken are taken too (all subscribers watching one name hear
    of its change, however many)."""
    weights: dict[M, float] = defaultdict(float)
    for members in postings:
        members = list(members)
        if 0 < len(members) <= MAX_KEY_MEMBERS:
            weight = 1 / math.log2(1 + len(members)) if len(members) > 1 else 1.0
            for member in members:
                weights[member] += weight
    ordered = sorted(weights, key=lambda m: (-weights[m], str(m)))
    if len(ordered) <= limit or not ties:
        return ordered[:limit]
    last = weights[ordered[limit - 1]]
    end = limit
    while end < len(ordered) and weights[ordered[end]] == last:
        end += 1
    return ordered[:end]


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

    async def lookup(self, keys: Iterable[str], limit: int = MAX_CANDIDATES, ties: bool = False) -> list[str]:
        """The members ``rank`` puts first."""
        [found] = await self.lookup_many([keys], limit, ties)
        return found

    async def lookup_many(
        self, keysets: Sequence[Iterable[str]], limit: int = MAX_CANDIDATES, ties: bool = False
    ) -> list[list[str]]:
        """``lookup`` for a batch: every distinct key's size in one round trip, the usable keys' members in a
        second, then each key set ranked on its own."""
        wanted = [sorted(set(keys)) for keys in keysets]
        distinct = sorted({key for keys in wanted for key in keys})
        if not distinct:
            return [[] for _ in wanted]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in distinct:
                pipe.scard(self._k(key))
            sizes: list[int] = await pipe.execute()
        usable = [k for k, n in zip(distinct, sizes, strict=True) if 0 < n <= MAX_KEY_MEMBERS]
        members: dict[str, list[str]] = {}
        if usable:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in usable:
                    pipe.smembers(self._k(key))
                results: list[set[bytes]] = await pipe.execute()
            members = {k: [m.decode() for m in found] for k, found in zip(usable, results, strict=True)}
        return [rank((members[k] for k in keys if k in members), limit, ties) for keys in wanted]
