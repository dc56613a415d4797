"""What every part of the alerts store shares: the Redis client, the namespaced key builder, small helpers."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

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


# A grouped script call: the script, its keys and arguments, and where its caller waits for the reply.
_Call = tuple[AsyncScript, list[Any], list[Any], "asyncio.Future[Any]"]


class StoreBase:
    """The Redis client and the settings; each part of the store adds its keys and methods."""

    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        self.redis = redis
        self._s = settings
        self._unreplicated_until = 0.0
        self._scripts: dict[str, AsyncScript] = {}
        # Script calls waiting for the next group (see ``grouped``), and whether a group is in flight.
        self._group: list[_Call] = []
        self._sending: asyncio.Task[None] | None = None
        self._loaded: set[str] = set()

    def script(self, body: str) -> AsyncScript:
        """The script, called by its SHA (EVALSHA; loaded again by redis-py if Redis lost it): a script run
        per delivery is not sent and hashed each time."""
        found = self._scripts.get(body)
        if found is None:
            found = self._scripts[body] = self.redis.register_script(body)
        return found

    async def grouped(self, body: str, keys: list[Any], args: list[Any]) -> Any:
        """Run a script, grouped with the calls made while the previous group was in flight: one pipeline, one
        round trip for many deliveries' writes (a group commit). Each script stays atomic and the calls run in
        the order they were made; an idle store sends a call at once, so nothing waits for company. With
        replicas configured, the group's writes are replicated before any caller returns."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._group.append((self.script(body), keys, args, future))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send_groups())
        return await future

    async def _send_groups(self) -> None:
        group: list[_Call] = []
        try:
            while self._group:
                group, self._group = self._group, []
                try:
                    results = await self._send_group(group)
                except Exception as exc:  # noqa: BLE001 - not swallowed: every caller of the group gets it
                    results = [exc] * len(group)
                for (*_, future), result in zip(group, results, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._sending = None
            for *_, future in group + self._group:  # only when this task itself is cancelled (shutdown)
                future.cancel()
            self._group = []

    async def _send_group(self, group: list[_Call]) -> list[Any]:
        for script in {s.sha: s for s, *_ in group}.values():
            if script.sha not in self._loaded:  # once per script (a pipeline would check them all every time)
                await self.redis.script_load(script.script)
                self._loaded.add(script.sha)
        async with self.redis.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in group:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            results: list[Any] = await pipe.execute(raise_on_error=False)
        lost = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if lost:  # Redis restarted without its scripts: those calls did not run; load and run them now
            self._loaded.clear()
            for i in lost:
                script, keys, args, _ = group[i]
                results[i] = await script(keys=keys, args=args)
        await self.replicated()
        return results

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
