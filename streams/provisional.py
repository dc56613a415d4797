"""Provisional alerts and their confirmation: an act in the Official Journal announces a designation that
the consolidated list (``eu_fsf``) carries days or weeks later. The subscriber hears of it once, at the act;
when the consolidated entry appears, the alert it would raise becomes a "confirmed" record instead.

Keys (owned here): ``prov:{subscriber}:{watch}`` hash, name core -> JSON ``{alert_id, act, for}``, one
field per name of the provisional entry, deleted once confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from redis.asyncio import Redis

from contracts.models import Alert, AlertKind, EnrichedChange
from contracts.settings import CommonSettings
from streams.list_state import ListStateStore
from streams.match.logic import confirm, enrichment_keys


def _cores(enriched: EnrichedChange) -> set[str]:
    return {n.core for n in enriched.enrichment.names if n.core}


class ProvisionalStore:
    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        self._redis = redis
        self._settings = settings

    def _key(self, alert: Alert) -> str:
        return self._settings.redis_key("prov", alert.subscriber_id, alert.watch_id)

    async def already_listed(self, enriched: EnrichedChange, lists: ListStateStore) -> bool:
        """A provisional addition whose party the confirming list already carries: the act amends an
        existing entry, and is no news."""
        change = enriched.change
        target, cores = change.provisional_for, _cores(enriched)
        if not target or change.change != "added" or not cores:
            return False
        for listed in await lists.candidates(enrichment_keys(enriched.enrichment)):
            if listed.source == target and cores & {n.core for n in listed.enrichment.names}:
                return True
        return False

    async def reconcile(self, alerts: Iterable[Alert], enriched: EnrichedChange) -> list[Alert]:
        """Remember provisional alerts; turn an addition that confirms one into a "confirmed" record."""
        change, cores = enriched.change, _cores(enriched)
        out: list[Alert] = []
        for alert in alerts:
            if change.provisional_for and alert.kind == AlertKind.ADDED.value:
                value = orjson.dumps({"alert_id": alert.alert_id, "act": change.entry_key.split("|")[0],
                                      "for": change.provisional_for})  # fmt: skip
                if cores:
                    await self._redis.hset(self._key(alert), mapping=dict.fromkeys(cores, value))
                out.append(alert)
                continue
            if alert.kind != AlertKind.ADDED.value or not cores:
                out.append(alert)
                continue
            key = self._key(alert)
            stored = await self._redis.hgetall(key)
            matched: dict[str, str] = {}
            fields = []
            for field, raw in stored.items():
                name = field.decode() if isinstance(field, bytes) else str(field)
                data = orjson.loads(raw)
                if data["for"] == change.source and name in cores:
                    matched[data["alert_id"]] = data["act"]
            if matched:
                # Every name of each confirmed provisional entry goes, not only those the FSF shares.
                fields = [f for f, raw in stored.items() if orjson.loads(raw)["alert_id"] in matched]
                await self._redis.hdel(key, *fields)
                out.append(confirm(alert, sorted(matched.items())))
            else:
                out.append(alert)
        return out
