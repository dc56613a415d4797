"""Turning one list change into alerts: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from streams.models import Alert, AlertKind, ListChange, alert_id
from streams.watchlists import WatchEntry


def entry_identifiers(change: ListChange) -> list[tuple[str, str]]:
    entry = change.current
    return [(i.scheme, i.value) for i in entry.identifiers]


def entry_names(change: ListChange) -> list[str]:
    """Names of the entry before and after: a renamed entry still reaches those who watched the old name."""
    names: list[str] = []
    for entry in (change.before, change.after):
        if entry is not None:
            names.append(entry.name)
            names.extend(entry.aliases)
    return names


def build_alerts(change: ListChange, candidates: Iterable[tuple[WatchEntry, str]], now: datetime) -> list[Alert]:
    """One alert per watch entry concerned. Baseline entries never alert as "added"."""
    if change.baseline:
        return []
    alerts = []
    for watch, reason in candidates:
        alerts.append(
            Alert(
                alert_id=alert_id(watch.subscriber_id, watch.id, change.event_id),
                subscriber_id=watch.subscriber_id,
                watch_id=watch.id,
                watch_name=watch.name,
                source=change.source,
                entry_key=change.entry_key,
                entry_name=change.current.name,
                kind=AlertKind(change.change).value,
                before=change.before,
                after=change.after,
                fields=change.fields,
                score=1.0,
                reasons=[reason],
                change_event_id=change.event_id,
                observed_at=change.observed_at,
                created_at=now,
            )
        )
    return alerts
