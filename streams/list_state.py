"""The current state of every list, materialised from the changes stream (baselines included), with an
index over its entries so that a newly watched company can be screened at once.

Layout under the namespace: ``list:{source}`` hash, entry key -> ListedEntry JSON; ``lidx:*`` the index
(streams/index.py) with members ``{source}<US>{entry key}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import faust
from redis.asyncio import Redis

from contracts.models import EnrichedChange, Enrichment, Entry
from contracts.settings import CommonSettings
from streams.enrich.change import enrich_entries
from streams.index import MAX_CANDIDATES, RedisIndex
from streams.match.logic import enrichment_keys

_SEP = "\x1f"


class ListedEntry(faust.Record, serializer="json"):
    """What is kept of a list entry: the entry, its enrichment, and the change that last set it."""

    source: str
    entry: Entry
    enrichment: Enrichment
    event_id: str


class ListStateStore:
    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        self._redis = redis
        self._settings = settings
        self._index = RedisIndex(redis, settings, "lidx")

    def _hash(self, source: str) -> str:
        return self._settings.redis_key("list", source)

    async def apply(self, enriched: EnrichedChange) -> None:
        """Make the stored list reflect the change: removed entries go, others are (re)indexed."""
        await self.apply_many([enriched])

    async def apply_many(self, batch: Sequence[EnrichedChange]) -> None:
        """``apply`` for a batch, in order, in one transaction: the index is read once for the batch's entries
        and set to what the last change of each entry says."""
        last: dict[str, EnrichedChange] = {}
        for enriched in batch:
            last[enriched.change.source + _SEP + enriched.change.entry_key] = enriched
        updates: list[tuple[str, set[str]]] = []
        gone: dict[str, list[str]] = {}
        kept: dict[str, dict[str, bytes]] = {}
        for member, enriched in last.items():
            change = enriched.change
            if change.change == "removed" or change.after is None:
                gone.setdefault(change.source, []).append(change.entry_key)
                updates.append((member, set()))
                continue
            # Indexed as the entry now stands: a renamed entry must not match its old name any more. An
            # addition (every baseline entry) was enriched from its after-entry alone already.
            current = (
                enriched.enrichment
                if change.before is None
                else enrich_entries([change.after], change.list_kind, change.publisher, change.jurisdiction)
            )
            listed = ListedEntry(change.source, change.after, current, change.event_id)
            kept.setdefault(change.source, {})[change.entry_key] = listed.dumps()
            updates.append((member, set(enrichment_keys(current))))
        async with self._redis.pipeline(transaction=True) as pipe:
            for source, keys in gone.items():
                pipe.hdel(self._hash(source), *keys)
            for source, mapping in kept.items():
                pipe.hset(self._hash(source), mapping=mapping)  # type: ignore[arg-type]
            await self._index.replace_many(updates, pipe)
            await pipe.execute()

    async def get(self, source: str, entry_key: str) -> ListedEntry | None:
        raw = await self._redis.hget(self._hash(source), entry_key)
        return None if raw is None else ListedEntry.loads(raw if isinstance(raw, bytes) else raw.encode())

    async def candidates(self, keys: Iterable[str], limit: int = MAX_CANDIDATES) -> list[ListedEntry]:
        out = []
        for text in await self._index.lookup(keys, limit):
            source, entry_key = text.split(_SEP, 1)
            listed = await self.get(source, entry_key)
            if listed is not None:
                out.append(listed)
        return out
