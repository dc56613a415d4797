"""Deduplication by deterministic event id, in Redis so that it survives worker restarts.

``seen`` is asked before the work and ``mark`` called after its output is acknowledged: a crash in
between redoes the work (at-least-once), it never loses it. Marks expire after ``ttl_s``
(``LISTWATCH_DEDUPE_TTL_S``): far longer than any redelivery or monitor restart.
"""

from __future__ import annotations

from redis.asyncio import Redis

from contracts.settings import CommonSettings


class DedupeStore:
    def __init__(self, redis: Redis, settings: CommonSettings, stage: str, ttl_s: int) -> None:
        self._redis = redis
        self._prefix = settings.redis_key("dedupe", stage)
        self._ttl_s = ttl_s

    async def seen(self, event_id: str) -> bool:
        return bool(await self._redis.exists(f"{self._prefix}:{event_id}"))

    async def mark(self, event_id: str) -> None:
        await self._redis.set(f"{self._prefix}:{event_id}", b"1", ex=self._ttl_s)
