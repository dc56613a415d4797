"""Matching changes and watch entries: pure functions, no I/O."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TypeVar

from contracts.models import (
    Alert,
    AlertKind,
    ChangeKind,
    EnrichedChange,
    Enrichment,
    Entry,
    FieldChange,
    Identifier,
    ListChange,
    NameVariant,
    Removal,
    alert_id,
    build,
)
from streams.enrich.identifiers import check
from streams.enrich.names import NameForm, name_form
from streams.match.keys import identifier_key, name_keys
from streams.match.score import EntryBound, Score, WatchBound, score, score_bound
from streams.watchlists import WatchEntry

_T = TypeVar("_T")


def forms(variants: Iterable[NameVariant]) -> list[NameForm]:
    return [NameForm(v.original, v.normalised, v.core, v.script, v.ascii) for v in variants]


def enrichment_keys(enrichment: Enrichment) -> set[str]:
    """Index keys of a list entry: its names' keys and its valid identifiers."""
    return set[str]().union(*enrichment_keysets(enrichment))


def enrichment_keysets(enrichment: Enrichment) -> list[set[str]]:
    """``enrichment_keys`` per name of the entry, each with its valid identifiers: what a list change looks up
    watches with (a watch is ranked by the entry's name it covers best)."""
    ids = {identifier_key(i.scheme, i.value) for i in enrichment.identifiers if i.valid}
    keysets = [name_keys(form) | ids for form in forms(enrichment.names)]
    return keysets or ([ids] if ids else [])


class KeysetCache:
    """``enrichment_keysets`` once per enrichment record of a batch, for the list state's index and the watch
    lookup alike (the second call was about 20 µs of a baseline change's 550–600). Keyed by identity and
    holding each record, so an id cannot be reused while the cache lives: make one per batch."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[int, tuple[Enrichment, list[set[str]]]] = {}

    def __call__(self, enrichment: Enrichment) -> list[set[str]]:
        hit = self._seen.get(id(enrichment))
        if hit is None:
            hit = self._seen[id(enrichment)] = (enrichment, enrichment_keysets(enrichment))
        return hit[1]


def enrichment_ids(enrichment: Enrichment) -> list[tuple[str, str]]:
    return [(i.scheme, i.value) for i in enrichment.identifiers if i.valid]


@functools.lru_cache(maxsize=65536)
def _valid_id(scheme: str, value: str) -> tuple[str, str] | None:
    checked = check(Identifier(scheme=scheme, value=value))
    return (checked.scheme, checked.value) if checked.valid else None


def watch_ids(watch: WatchEntry) -> list[tuple[str, str]]:
    """The watch entry's identifiers as validated and normalised like list entries' (only valid ones can
    agree or conflict). Cached per identifier: this runs for every candidate of every change."""
    return [v for s, value in watch.identifiers() if (v := _valid_id(s, value)) is not None]


def score_watch(watch: WatchEntry, enrichment: Enrichment) -> Score:
    return score(
        [name_form(n) for n in watch.names()],
        forms(enrichment.names),
        watch_ids(watch),
        enrichment_ids(enrichment),
        watch.country,
        enrichment.countries,
        enrichment.entity_type,
    )


def make_alert(
    watch: WatchEntry, s: Score, kind: AlertKind, source: str, entry_key: str, entry_name: str,
    before: Entry | None, after: Entry | None, fields: list[FieldChange], event_id: str, observed_at: datetime,
    enrichment: Enrichment, now: datetime, removal: str | None = None, provisional_for: str | None = None,
) -> Alert:  # fmt: skip
    # Built past faust's field descriptors (contracts.models.build): one per alert, 3 % of an alerting change.
    return build(Alert, {
        "removal": removal,
        "provisional_for": provisional_for,
        "confirms": [],
        "alert_id": alert_id(watch.subscriber_id, watch.id, event_id),
        "subscriber_id": watch.subscriber_id,
        "watch_id": watch.id,
        "watch_name": watch.name,
        "source": source,
        "entry_key": entry_key,
        "entry_name": entry_name,
        "kind": kind.value,
        "before": before,
        "after": after,
        "fields": fields,
        "score": s.value,
        "reasons": list(s.reasons),
        "change_event_id": event_id,
        "observed_at": observed_at,
        "created_at": now,
        "list_kind": enrichment.list_kind,
        "list_colour": enrichment.list_colour,
        "jurisdiction": enrichment.jurisdiction,
    })


def removal_reason(change: ListChange) -> str | None:
    """What a removal alert says about why the entry left its list."""
    end = change.before.end_date if change.before is not None else None
    if change.removal == Removal.EXPIRED.value:
        return f"removed because its term ended on {end} (an expiry, not a delisting decision)"
    if change.removal == Removal.DELISTED.value:
        return f"delisted before its end date {end}" if end else "delisted by the publisher"
    return None


def match_change(
    enriched: EnrichedChange, candidates: Iterable[WatchEntry], thresholds: Mapping[str, float], now: datetime
) -> list[Alert]:
    """One alert per watch entry scoring at or above its subscriber's threshold. A baseline entry is
    "already listed" (the list was seen for the first time), never "added"."""
    change, enrichment = enriched.change, enriched.enrichment
    if change.cosmetic:
        return []  # recorded on the changes topic; nothing was said about the party
    if change.provisional_for and (change.baseline or change.removal == Removal.SUPERSEDED.value):
        # A provisional entry first seen, or leaving the journal's window, says nothing new: the
        # consolidated list's own entries speak for the current state.
        return []
    kind = AlertKind.ALREADY_LISTED if change.baseline else AlertKind(change.change)
    why = removal_reason(change)
    alerts = []
    watches = list(candidates)
    entry_forms, entry_ids = forms(enrichment.names), enrichment_ids(enrichment)
    named = [([name_form(n) for n in watch.names()], watch_ids(watch)) for watch in watches]
    # Most candidates share one word of several: a cheap upper bound rules them out unscored (the rounding of
    # a score to 4 places allowed for). EntryBound pays off across a change's many candidates; for one or two
    # (most of a baseline's changes), the plain bound, equal to it, costs less than setting it up.
    if len(watches) > 2:
        bounds = EntryBound(entry_forms, entry_ids).bounds(named)
    else:
        bounds = [score_bound(watch_forms, entry_forms, ids, entry_ids) for watch_forms, ids in named]
    for watch, (watch_forms, ids), bound in zip(watches, named, bounds, strict=True):
        if bound + 1e-4 < (threshold := thresholds[watch.subscriber_id]):
            continue
        # score_watch with the forms and identifiers worked out above
        s = score(watch_forms, entry_forms, ids, entry_ids, watch.country, enrichment.countries,
                  enrichment.entity_type)  # fmt: skip
        if s.value >= threshold:
            if why is not None:
                s = Score(s.value, (*s.reasons, why))
            alerts.append(make_alert(
                watch, s, kind, change.source, change.entry_key, change.current.name, change.before,
                change.after, change.fields, change.event_id, change.observed_at, enrichment, now,
                change.removal, change.provisional_for,
            ))  # fmt: skip
    if change.provisional_for:
        for alert in alerts:
            alert.reasons = [*alert.reasons, f"provisional: published in the Official Journal "
                             f"({(change.current.raw or {}).get('celex', change.entry_key)}), not yet on "
                             f"{change.provisional_for}"]  # fmt: skip
    return alerts


def confirm(alert: Alert, provisional: list[tuple[str, str]]) -> Alert:
    """An addition to the consolidated list that a provisional alert announced: one "confirmed" record
    naming the provisional alerts (id, act), in place of a second "added" alert."""
    acts = ", ".join(sorted({act for _, act in provisional}))
    return alert.derive(
        kind=AlertKind.CONFIRMED.value,
        confirms=sorted(i for i, _ in provisional),
        reasons=[*alert.reasons, f"confirms the provisional alert from the Official Journal ({acts})"],
    )


def core_name(name: str) -> str:
    """What two names of one party, as a list would print it twice, have equal: the name normalised and
    stripped of legal forms."""
    return name_form(name).core


def same_name_reason(change: ListChange, others: Iterable[Entry]) -> str | None:
    """What an alert on a change says when the list holds the party under the same name in other entries
    (a party listed twice): a removal then does not take it off the list, an addition is not its first."""
    core = core_name(change.current.name)
    also = [o for o in others if o.key != change.entry_key and core_name(o.name) == core]
    if not also:
        return None
    named = "; ".join(f"{o.key} ({o.name})" for o in sorted(also, key=lambda o: o.key))
    if change.change == ChangeKind.REMOVED.value:
        return (f"still listed on {change.source} under the same name as {named}: this removal alone does not "
                f"take the party off the list")  # fmt: skip
    return f"also listed on {change.source} under the same name as {named}"


def screened(
    watch: WatchEntry, candidates: Iterable[tuple[_T, Enrichment]], threshold: float
) -> Iterator[tuple[_T, Score]]:
    """The candidates (each with the enrichment it is scored on) scoring at or above ``threshold``, with their
    scores. Above 0, a cheap upper bound rules out most of them unscored, as in match_change."""
    bound = WatchBound([name_form(n) for n in watch.names()], watch_ids(watch)) if threshold > 0 else None
    for item, enrichment in candidates:
        if bound is not None and bound.bound(forms(enrichment.names), enrichment_ids(enrichment)) + 1e-4 < threshold:
            continue
        s = score_watch(watch, enrichment)
        if s.value >= threshold:
            yield item, s


def screen_watch(watch: WatchEntry, listed: Iterable[tuple[str, Entry, Enrichment, str]], threshold: float,
                 now: datetime) -> list[Alert]:  # fmt: skip
    """A newly watched company against the current lists: "already listed" where it matches. Entries of one
    list under the same name (a party listed twice) are one alert to review, naming the others."""
    found = [(*item, s) for item, s in screened(watch, [(x, x[2]) for x in listed], threshold)]
    groups: dict[tuple[str, str], list[tuple[str, Entry, Enrichment, str, Score]]] = {}
    for hit in sorted(found, key=lambda h: (-h[4].value, h[0], h[1].key)):
        groups.setdefault((hit[0], core_name(hit[1].name)), []).append(hit)
    alerts = []
    for (source, _), [(_, entry, enrichment, event_id, s), *others] in groups.items():
        if others:
            also = "; ".join(f"{o[1].key} ({o[1].name})" for o in others)
            s = Score(s.value, (*s.reasons, f"also listed on {source} under the same name as {also}"))
        alerts.append(make_alert(
            watch, s, AlertKind.ALREADY_LISTED, source, entry.key, entry.name, None, entry, [], event_id,
            now, enrichment, now,
        ))  # fmt: skip
    return alerts
