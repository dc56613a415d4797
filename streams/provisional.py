"""Provisional alerts and their confirmation: an act in the Official Journal announces a designation that
the consolidated list (``eu_fsf``) carries days or weeks later. The subscriber hears of it once, at the act;
when the consolidated entry appears, the alert it would raise becomes a "confirmed" record instead.

Keys (owned here): ``prov:{subscriber}:{watch}`` hash, name core -> JSON ``{alert_id, act, for}``, one
field per name of the provisional entry, deleted once confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from contracts.clients import hgetall_many, text
from contracts.models import CONFIRMING_SOURCES, Alert, AlertKind, EnrichedChange
from contracts.settings import CommonSettings
from streams.list_state import ListStateStore
from streams.match.logic import confirm, enrichment_keys

log = logging.getLogger(__name__)


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

    async def reconcile_many(self, items: Sequence[tuple[list[Alert], EnrichedChange]]) -> list[list[Alert]]:
        """Per change of a batch, in order: provisional alerts remembered, an addition that confirms one turned
        into a "confirmed" record. Only an addition to a confirming list (``CONFIRMING_SOURCES``) can confirm
        one: the alerts of every other list pass through unread (looking them up was 27–30 µs of an alerting
        change's CPU, about 600, in process). The records are read for the whole batch in one script call and
        written in a pipeline; a record written earlier in the batch is seen by a later change, as when they
        were one by one."""
        # per change, its names' cores where it writes or may confirm a record, None where it does neither
        cores = [_cores(e) if e.change.provisional_for or e.change.source in CONFIRMING_SOURCES else None
                 for _, e in items]  # fmt: skip
        wanted = sorted({self._key(alert) for (alerts, enriched), names in zip(items, cores, strict=True)
                         if names and not enriched.change.provisional_for
                         for alert in alerts if alert.kind == AlertKind.ADDED.value})  # fmt: skip
        records: dict[str, dict[str, bytes]] = {}
        for key, stored in zip(wanted, await hgetall_many(self._redis, wanted), strict=True):
            records[key] = {text(f): raw for f, raw in stored.items()}
        writes = self._redis.pipeline(transaction=False)
        out = [alerts if names is None else self._reconcile(alerts, enriched, names, records, writes)
               for (alerts, enriched), names in zip(items, cores, strict=True)]  # fmt: skip
        if len(writes):
            await writes.execute()
        return out

    def _reconcile(
        self, alerts: list[Alert], enriched: EnrichedChange, cores: set[str], records: dict[str, dict[str, bytes]],
        writes: Pipeline,
    ) -> list[Alert]:  # fmt: skip
        change = enriched.change
        out: list[Alert] = []
        for alert in alerts:
            key = self._key(alert)
            if change.provisional_for and alert.kind == AlertKind.ADDED.value:
                if change.provisional_for not in CONFIRMING_SOURCES:
                    log.warning("provisional alert %s is for %r, not a confirming list %s: nothing will confirm it",
                                alert.alert_id, change.provisional_for, sorted(CONFIRMING_SOURCES))  # fmt: skip
                value = orjson.dumps({"alert_id": alert.alert_id, "act": change.entry_key.split("|")[0],
                                      "for": change.provisional_for})  # fmt: skip
                if cores:
                    writes.hset(key, mapping=dict.fromkeys(cores, value))
                    records.setdefault(key, {}).update(dict.fromkeys(cores, value))
                out.append(alert)
                continue
            if alert.kind != AlertKind.ADDED.value or not cores:
                out.append(alert)
                continue
            stored = records.get(key, {})
            decoded = {name: orjson.loads(raw) for name, raw in stored.items()}
            matched = {data["alert_id"]: data["act"] for name, data in decoded.items()
                       if data["for"] == change.source and name in cores}  # fmt: skip
            if matched:
                # Every name of each confirmed provisional entry goes, not only those the FSF shares.
                fields = [f for f, data in decoded.items() if data["alert_id"] in matched]
                writes.hdel(key, *fields)
                for f in fields:
                    del stored[f]
                out.append(confirm(alert, sorted(matched.items())))
            else:
                out.append(alert)
        return out
