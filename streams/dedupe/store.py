"""Deduplication by deterministic event id, in Redis so that it survives worker restarts.

``seen`` is asked before the work and ``mark`` called after its output is acknowledged: a crash in
between redoes the work (at-least-once), it never loses it. Marks expire after ``ttl_s``
(``LISTWATCH_DEDUPE_TTL_S``): far longer than any redelivery or monitor restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from contracts.settings import CommonSettings

# KEYS: the marks to set; ARGV: their time to live in seconds.
_MARK = """
for _, key in ipairs(KEYS) do redis.call('SET', key, '1', 'EX', ARGV[1]) end
return #KEYS
"""


class DedupeStore:
    def __init__(self, redis: Redis, settings: CommonSettings, stage: str, ttl_s: int) -> None:
        self._redis = redis
        self._prefix = settings.redis_key("dedupe", stage)
        self._ttl_s = ttl_s

    async def seen_many(self, event_ids: Sequence[str]) -> list[bool]:
        """Whether each event was done before, in one command."""
        if not event_ids:
            return []
        return [v is not None for v in await self._redis.mget([f"{self._prefix}:{e}" for e in event_ids])]

    async def mark_many(self, event_ids: Iterable[str]) -> None:
        """Mark the events done, in one script call (one reply to read, not one per event)."""
        keys = [f"{self._prefix}:{e}" for e in event_ids]
        if keys:
            await self._redis.eval(_MARK, len(keys), *keys, self._ttl_s)
