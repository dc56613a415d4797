"""The stream stages' work with their state: what each agent calls once per batch of events.

Each stage asks the dedupe store first and marks the events only after their output was acknowledged by
Kafka, so a crash repeats work rather than losing it; repeated output carries the same deterministic ids.
Batches (issue 11): one Redis round trip per kind of read or write for the whole batch, and one wait for
Kafka's acknowledgements, instead of one of each per event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from contracts import codec
from contracts.models import Alert, EnrichedChange, ListChange, WatchEvent
from streams.bilingual import BilingualStore, is_chinese_only, with_names
from streams.dedupe.store import DedupeStore
from streams.enrich.change import enrich
from streams.list_state import ListStateStore
from streams.match.logic import KeysetCache, match_change, same_name_reason, screen_watch
from streams.match.score import DEFAULT_THRESHOLD
from streams.metrics import StreamsMetrics
from streams.provisional import ProvisionalStore
from streams.watchlists import WatchlistStore, watch_keys

SendAlert = Callable[[Alert], Awaitable[None]]
# Batch senders: return once Kafka acknowledged every item.
SendAlerts = Callable[[Sequence[Alert]], Awaitable[None]]
_T = TypeVar("_T")
log = logging.getLogger(__name__)
# The event loop's turns given to a batch's list-state transaction to reach Redis before the scoring.
_SEND_TURNS = 3


@dataclass(slots=True)
class Stages:
    watches: WatchlistStore
    lists: ListStateStore
    match_dedupe: DedupeStore
    metrics: StreamsMetrics
    provisional: ProvisionalStore
    bilingual: BilingualStore
    default_threshold: float = DEFAULT_THRESHOLD

    async def report_orphans(self) -> None:
        """Set the orphaned-members gauge of both indexes from their Redis counters (for the ops alert)."""
        for index, store in (("lists", self.lists), ("watchlists", self.watches)):
            self.metrics.orphans.labels(index).set(await store.orphans())

    async def dedupe_enrich_match(
        self, changes: Sequence[ListChange], send: SendAlerts, enriched: Sequence[EnrichedChange] | None = None
    ) -> int:
        """Dedupe, enrich and match in one step, with no topic between (both lanes: the changes lane, and the
        baseline lane, whose events must not queue behind, or ahead of, the others); how many were new.
        ``enriched``: the changes already enriched (``enrich_batch``, in the same order), by a lane that
        enriches the next batch while this one waits on Redis.

        One dedupe store: the match stage's, asked here before enriching and marked by ``match_batch`` once
        the alerts are acknowledged. A store of the enrichment's own (marked after the match's) could only
        repeat what this one says, at two round trips and a key per change."""
        self.metrics.changes.labels("enrich").inc(len(changes))
        fresh = await _fresh(self.match_dedupe, changes, lambda c: c.event_id)
        self.metrics.duplicates.labels("enrich").inc(len(changes) - len(fresh))
        if not fresh:
            return 0
        if enriched is None:
            out = self.enrich_batch(fresh)
        else:
            done = {id(e.change): e for e in enriched}
            missing = [change for change in fresh if id(change) not in done]
            done.update((id(e.change), e) for e in self.enrich_batch(missing))
            out = [done[id(change)] for change in fresh]
        await self.match_batch(out, send, checked=True)
        return len(out)

    def enrich_batch(self, changes: Sequence[ListChange]) -> list[EnrichedChange]:
        """The changes enriched (pure work, no I/O), timed and their errors counted."""
        out = []
        seconds = self.metrics.enrich_seconds
        for change in changes:
            started = time.perf_counter()
            enriched = enrich(change)
            seconds.observe(time.perf_counter() - started)
            if enriched.enrichment.errors:
                self.metrics.enrich_errors.inc(len(enriched.enrichment.errors))
            out.append(enriched)
        return out

    async def match(self, enriched: EnrichedChange, send: SendAlert) -> list[Alert]:
        """Keep the list state current, then alert every subscriber whose watched company it concerns."""
        return await self.match_batch([enriched], _one_by_one(send))

    async def match_batch(
        self, batch: Sequence[EnrichedChange], send: SendAlerts, checked: bool = False
    ) -> list[Alert]:
        """``match`` for a batch: the list state updated in one transaction, candidates and thresholds read in
        a few round trips for the whole batch, the alerts sent and acknowledged together, then the batch
        marked done. ``checked``: the caller already dropped what the dedupe store has seen."""
        self.metrics.changes.labels("match").inc(len(batch))
        fresh = list(batch) if checked else await _fresh(self.match_dedupe, batch, lambda e: e.change.event_id)
        self.metrics.duplicates.labels("match").inc(len(batch) - len(fresh))
        if not fresh:
            return []
        started = time.perf_counter()
        keysets = KeysetCache()
        # A baseline's event a later change overtook (the lanes run side by side) is neither kept nor alerted,
        # so a batch holding one learns and matches only what its transaction applied. A batch without one
        # applies every change: its transaction goes to Redis once the watches are read, and Redis runs it
        # (the index's script: about 170 us a change) while the worker scores the candidates.
        writing: asyncio.Future[list[EnrichedChange]] | None = None
        if any(e.change.baseline for e in fresh):
            applied = await self.lists.apply_many(fresh, keysets)
            pending = None
        else:
            pending, applied = await self.lists.prepare(fresh, keysets), fresh
        self.metrics.stale_baseline.inc(len(fresh) - len(applied))
        await self.bilingual.learn_many(
            (e.change.source, e.change.after) for e in applied if e.change.after is not None
        )
        named = await self._with_chinese_names(applied)
        candidates = await self.watches.candidates_many([keysets(e.enrichment) for e, _ in named])
        thresholds = await self.watches.thresholds(
            {w.subscriber_id for found in candidates for w in found}, self.default_threshold
        )
        now = datetime.now(UTC)
        if pending is not None:
            writing = asyncio.ensure_future(self.lists.write(pending))
            # A few turns of the event loop send it (redis-py awaits twice before it writes, on a pooled
            # connection; if it has not sent by then, it waits for the scoring as it did before). No more:
            # each turn also lets the lane enrich what it fetched, which the scoring then waits for.
            for _ in range(_SEND_TURNS):
                await asyncio.sleep(0)
        scored: list[list[Alert]] = []
        try:
            for (enriched, _), found in zip(named, candidates, strict=True):
                scored.append(match_change(enriched, found, thresholds, now))
        finally:
            if writing is not None:
                await writing  # written before anything reads it, and never left running behind a failure
        matched: list[tuple[list[Alert], EnrichedChange]] = []
        counted = self.metrics.candidates.labels("change")  # a label's child looked up once a batch
        for (enriched, _), found, alerts in zip(named, candidates, scored, strict=True):
            if alerts and await self.provisional.already_listed(enriched, self.lists):
                alerts = []  # an Official Journal act amending an entry the consolidated list has
            counted.observe(len(found))
            matched.append((alerts, enriched))
        alerting: list[tuple[EnrichedChange, list[Alert]]] = []
        reconciled = await self.provisional.reconcile_many(matched)
        for (enriched, borrowed), alerts in zip(named, reconciled, strict=True):
            for alert in alerts:
                alert.reasons = [*alert.reasons, *_borrowed_reasons(alert.reasons, borrowed)]
            if alerts:
                alerting.append((enriched, alerts))
        out: list[Alert] = []
        for (_, alerts), also in zip(alerting, await self._same_name(alerting), strict=True):
            if also is not None:
                for alert in alerts:
                    alert.reasons = [*alert.reasons, also]
            out.extend(alerts)
        # Per change, as before batching: the batch's time spread over its changes.
        each, timed = (time.perf_counter() - started) / len(fresh), self.metrics.match_seconds.labels("change")
        for _ in fresh:
            timed.observe(each)
        await send(out)
        for alert in out:
            self.metrics.alerts.labels(alert.kind).inc()
        await self.match_dedupe.mark_many(e.change.event_id for e in fresh)
        return out

    async def _same_name(self, alerting: Sequence[tuple[EnrichedChange, list[Alert]]]) -> list[str | None]:
        """For each change that alerts, what its list holds under the same name in other entries (a party
        listed twice), read after the change was applied: one intersection of its name's index keys each, in
        one call for the batch; only entries under all of them are read."""
        changes = [e.change for e, _ in alerting]
        found = await self.lists.same_name_many(changes)
        return [same_name_reason(c, others) for c, others in zip(changes, found, strict=True)]

    async def _with_chinese_names(self, batch: Sequence[EnrichedChange]) -> list[tuple[EnrichedChange, dict[str, str]]]:
        """Entries named in Latin script only, with the Chinese names bilingual lists give for them."""
        latin_only = [e for e in batch if not any(v.script == "cjk" for v in e.enrichment.names)]
        found = await self.bilingual.chinese_names_many([e.enrichment.names for e in latin_only])
        borrowed = {id(e): names for e, names in zip(latin_only, found, strict=True) if names}
        out = []
        for enriched in batch:
            names = borrowed.get(id(enriched), {})
            if names:
                enrichment = enriched.enrichment.derive(names=with_names(enriched.enrichment.names, names))
                enriched = enriched.derive(enrichment=enrichment)
            out.append((enriched, names))
        return out

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


async def _fresh(dedupe: DedupeStore, items: Sequence[_T], event_id: Callable[[_T], str]) -> list[_T]:
    """The items not done before, each event id once (a batch may hold one change twice: two monitor
    replicas, a redelivery)."""
    ids = [event_id(item) for item in items]
    seen = await dedupe.seen_many(ids)
    taken: set[str] = set()
    fresh = []
    for item, key, was in zip(items, ids, seen, strict=True):
        if not was and key not in taken:
            taken.add(key)
            fresh.append(item)
    return fresh


def _one_by_one(send: Callable[[_T], Awaitable[None]]) -> Callable[[Sequence[_T]], Awaitable[None]]:
    async def each(items: Sequence[_T]) -> None:
        for item in items:
            await send(item)

    return each


def _borrowed_reasons(reasons: list[str], borrowed: dict[str, str]) -> list[str]:
    """Say where a name in another script came from, when the match used it."""
    return [
        f"the name {name!r} is printed beside this one by {origin.replace('|', ' entry ')} (a bilingual list)"
        for name, origin in sorted(borrowed.items())
        if any(name in r for r in reasons)
    ]


def decode_changes(
    values: Sequence[bytes | None], undecodable: list[tuple[int, Exception]] | None = None
) -> list[ListChange]:
    """The records' changes, read past faust's field descriptors (contracts/codec.py: a tenth of a change's
    time when faust decoded them). A record that is not a ListChange is logged and left out; ``undecodable``,
    if given, receives its position among ``values`` and the error (the lanes set it aside, never drop it)."""
    out = []
    for i, value in enumerate(values):
        try:
            out.append(codec.loads(ListChange, value or b""))
        except Exception as exc:  # noqa: BLE001 - a bad record must not stop the lane
            log.error("a record that is not a ListChange: %s", exc)
            if undecodable is not None:
                undecodable.append((i, exc))
    return out
