"""The stream stages' work with their state: what each agent calls once per event.

Each stage asks the dedupe store first and marks the event only after its output was acknowledged by
Kafka, so a crash repeats work rather than losing it; repeated output carries the same deterministic ids.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from contracts.models import Alert, EnrichedChange, ListChange, WatchEvent
from streams.bilingual import BilingualStore, is_chinese_only, with_names
from streams.dedupe.store import DedupeStore
from streams.enrich.change import enrich
from streams.list_state import ListStateStore
from streams.match.logic import enrichment_keys, match_change, screen_watch
from streams.match.score import DEFAULT_THRESHOLD
from streams.metrics import StreamsMetrics
from streams.provisional import ProvisionalStore
from streams.watchlists import WatchlistStore, watch_keys

SendEnriched = Callable[[EnrichedChange], Awaitable[None]]
SendAlert = Callable[[Alert], Awaitable[None]]


@dataclass(slots=True)
class Stages:
    watches: WatchlistStore
    lists: ListStateStore
    enrich_dedupe: DedupeStore
    match_dedupe: DedupeStore
    metrics: StreamsMetrics
    provisional: ProvisionalStore
    bilingual: BilingualStore
    default_threshold: float = DEFAULT_THRESHOLD

    async def dedupe_and_enrich(self, change: ListChange, send: SendEnriched) -> bool:
        """Enrich a change unless it was enriched before; True when something was sent."""
        self.metrics.changes.labels("enrich").inc()
        if await self.enrich_dedupe.seen(change.event_id):
            self.metrics.duplicates.labels("enrich").inc()
            return False
        started = time.perf_counter()
        enriched = enrich(change)
        self.metrics.enrich_seconds.observe(time.perf_counter() - started)
        if enriched.enrichment.errors:
            self.metrics.enrich_errors.inc(len(enriched.enrichment.errors))
        await send(enriched)
        await self.enrich_dedupe.mark(change.event_id)
        return True

    async def match(self, enriched: EnrichedChange, send: SendAlert) -> list[Alert]:
        """Keep the list state current, then alert every subscriber whose watched company it concerns."""
        event_id = enriched.change.event_id
        self.metrics.changes.labels("match").inc()
        if await self.match_dedupe.seen(event_id):
            self.metrics.duplicates.labels("match").inc()
            return []
        started = time.perf_counter()
        await self.lists.apply(enriched)
        if enriched.change.after is not None:
            await self.bilingual.learn(enriched.change.source, enriched.change.after)
        enriched, borrowed = await self._with_chinese_names(enriched)
        candidates = await self.watches.candidates(enrichment_keys(enriched.enrichment))
        thresholds = {
            sub: await self.watches.threshold(sub, self.default_threshold)
            for sub in {w.subscriber_id for w in candidates}
        }
        alerts = match_change(enriched, candidates, thresholds, datetime.now(UTC))
        if alerts and await self.provisional.already_listed(enriched, self.lists):
            alerts = []  # an Official Journal act amending an entry the consolidated list has
        alerts = await self.provisional.reconcile(alerts, enriched)
        for alert in alerts:
            alert.reasons = [*alert.reasons, *_borrowed_reasons(alert.reasons, borrowed)]
        self.metrics.candidates.labels("change").observe(len(candidates))
        self.metrics.match_seconds.labels("change").observe(time.perf_counter() - started)
        for alert in alerts:
            await send(alert)
            self.metrics.alerts.labels(alert.kind).inc()
        await self.match_dedupe.mark(event_id)
        return alerts

    async def _with_chinese_names(self, enriched: EnrichedChange) -> tuple[EnrichedChange, dict[str, str]]:
        """An entry named in Latin script only, with the Chinese names bilingual lists give for it."""
        names = enriched.enrichment.names
        if any(v.script == "cjk" for v in names):
            return enriched, {}
        borrowed = await self.bilingual.chinese_names(names)
        if not borrowed:
            return enriched, {}
        enrichment = enriched.enrichment.derive(names=with_names(names, borrowed))
        return enriched.derive(enrichment=enrichment), borrowed

    async def screen(self, event: WatchEvent, send: SendAlert) -> list[Alert]:
        """A watch entry was added or changed: is the company on a list already?"""
        if event.action != "put":
            return []
        watch = await self.watches.get(event.subscriber_id, event.watch_id)
        if watch is None:
            return []
        started = time.perf_counter()
        borrowed: dict[str, str] = {}
        if is_chinese_only(watch.names()):
            # Watched under its Chinese name only: the Latin names bilingual lists print beside it.
            borrowed = await self.bilingual.latin_names(watch.names())
            watch = replace(watch, alt_names=(*watch.alt_names, *borrowed))
        listed = await self.lists.candidates(watch_keys(watch))
        threshold = await self.watches.threshold(watch.subscriber_id, self.default_threshold)
        alerts = screen_watch(
            watch, [(x.source, x.entry, x.enrichment, x.event_id) for x in listed], threshold, datetime.now(UTC)
        )
        for alert in alerts:
            alert.reasons = [*alert.reasons, *_borrowed_reasons(alert.reasons, borrowed)]
        self.metrics.candidates.labels("watch").observe(len(listed))
        self.metrics.match_seconds.labels("watch").observe(time.perf_counter() - started)
        for alert in alerts:
            await send(alert)
            self.metrics.alerts.labels(alert.kind).inc()
        return alerts


def _borrowed_reasons(reasons: list[str], borrowed: dict[str, str]) -> list[str]:
    """Say where a name in another script came from, when the match used it."""
    return [
        f"the name {name!r} is printed beside this one by {origin.replace('|', ' entry ')} (a bilingual list)"
        for name, origin in sorted(borrowed.items())
        if any(name in r for r in reasons)
    ]
