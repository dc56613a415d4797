from __future__ import annotations

from datetime import UTC, datetime

from streams.match.logic import build_alerts, entry_names
from streams.models import ChangeKind, alert_id
from streams.watchlists import WatchEntry
from tests.factories import change, entry

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WATCH = WatchEntry(subscriber_id="s1", id="w1", name="Aerocaribbean Airlines")


def test_one_alert_per_candidate_with_deterministic_id() -> None:
    c = change(ChangeKind.ADDED)
    [alert] = build_alerts(c, [(WATCH, "name:aerocaribbean airlines")], NOW)
    assert alert.alert_id == alert_id("s1", "w1", c.event_id)
    assert (alert.kind, alert.entry_name, alert.reasons) == (
        "added",
        "AEROCARIBBEAN AIRLINES",
        ["name:aerocaribbean airlines"],
    )
    assert build_alerts(c, [(WATCH, "x")], NOW)[0].alert_id == alert.alert_id


def test_baseline_changes_never_alert() -> None:
    assert build_alerts(change(ChangeKind.ADDED, baseline=True), [(WATCH, "x")], NOW) == []


def test_renamed_entry_is_looked_up_under_both_names() -> None:
    c = change(ChangeKind.MODIFIED, before=entry(name="OLD CO"), after=entry(name="NEW CO", aliases=["N"]))
    assert entry_names(c) == ["OLD CO", "NEW CO", "N"]
