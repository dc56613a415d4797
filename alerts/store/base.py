"""What every part of the alerts store shares: the Redis client, the namespaced key builder, small helpers."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from contracts.clients import text
from contracts.models import Entry
from contracts.settings import CommonSettings

SEP = "\x1f"
KEY_PREFIX = "lw_"  # what a subscriber's API key starts with
log = logging.getLogger("alerts.store")
__all__ = ["KEY_PREFIX", "SEP", "StoreBase", "hash_key", "log", "material_hash", "now", "raw", "text"]


def now() -> float:
    return time.time()


def raw(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def material_hash(entry: Entry | None) -> str:
    """What makes a change of a list entry material for a suppression: names, identifiers, programs,
    countries and dates; not remarks wording or addresses."""
    if entry is None:
        return "-"
    data = {
        "names": sorted({entry.name, *entry.aliases}),
        "ids": sorted(f"{i.scheme}:{i.value}" for i in entry.identifiers),
        "programs": sorted(entry.programs),
        "countries": sorted(entry.countries),
        "dates": [entry.listed_on, entry.end_date],
    }
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]



class StoreBase:
    """The Redis client and the settings; each part of the store adds its keys and methods."""

    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        self.redis = redis
        self._s = settings
        self._unreplicated_until = 0.0
        self._scripts: dict[str, AsyncScript] = {}

    def script(self, body: str) -> AsyncScript:
        """The script, called by its SHA (EVALSHA; loaded again by redis-py if Redis lost it): a script run
        per delivery is not sent and hashed each time."""
        found = self._scripts.get(body)
        if found is None:
            found = self._scripts[body] = self.redis.register_script(body)
        return found

    async def replicated(self) -> None:
        """With replicas configured, return once they have the last write. Without enough replicas (a failover
        left the new primary alone), waiting is skipped for a while rather than slowing every write."""
        wanted = self._s.redis_wait_replicas
        if not wanted or time.monotonic() < self._unreplicated_until:
            return
        if int(await self.redis.wait(wanted, 500)) < wanted:
            log.warning("Redis: fewer than %d replicas acknowledged a write; not waiting for 10 s", wanted)
            self._unreplicated_until = time.monotonic() + 10.0

    def k(self, *parts: str) -> str:
        return self._s.redis_key(*parts)

