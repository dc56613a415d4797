"""Delivery endpoints.

Keys: ``endpoints:{sub}`` hash endpoint id -> Endpoint JSON (a webhook's secret included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

import orjson

from alerts.store.base import StoreBase
from alerts.store.records import Endpoint


class EndpointStore(StoreBase):
    # -- endpoints ----------------------------------------------------------------------------------

    async def put_endpoint(self, sub: str, endpoint: Endpoint) -> None:
        await self.redis.hset(self.k("endpoints", sub), endpoint.id, orjson.dumps(asdict(endpoint)))

    async def endpoint(self, sub: str, endpoint_id: str) -> Endpoint | None:
        raw = await self.redis.hget(self.k("endpoints", sub), endpoint_id)
        return None if raw is None else Endpoint(**orjson.loads(raw))

    async def endpoints_many(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Endpoint | None]:
        """``endpoint`` for many (subscriber, endpoint id) pairs, in one round trip."""
        pairs = sorted(set(wanted))
        if not pairs:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for sub, endpoint_id in pairs:
                pipe.hget(self.k("endpoints", sub), endpoint_id)
            rows = await pipe.execute()
        return {
            pair: None if raw is None else Endpoint(**orjson.loads(raw)) for pair, raw in zip(pairs, rows, strict=True)
        }

    async def endpoints(self, sub: str) -> list[Endpoint]:
        raw = await self.redis.hgetall(self.k("endpoints", sub))
        return sorted((Endpoint(**orjson.loads(v)) for v in raw.values()), key=lambda e: e.created_at)

    async def delete_endpoint(self, sub: str, endpoint_id: str) -> bool:
        return bool(await self.redis.hdel(self.k("endpoints", sub), endpoint_id))
