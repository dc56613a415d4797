"""Provisional additions from the Official Journal (real acts as OpenSanctions transcribes them), and their
confirmation when the consolidated FSF entry appears: one alert for the subscriber, then a confirmation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from contracts.models import Alert, ChangeKind, EnrichedChange, Entry, ListChange
from contracts.settings import CommonSettings
from monitor.diff import diff, read_snapshot
from monitor.snapshot import DiskSnapshot
from monitor.sources.eu_journal import INDEX, EuJournal
from streams.enrich.change import enrich
from streams.match.logic import match_change
from streams.match.score import DEFAULT_THRESHOLD
from streams.provisional import ProvisionalStore
from streams.stages import Stages
from streams.watchlists import WatchEntry
from tests.factories import change
from tests.servers import free_port
from tests.snapshots import real_files
from tests.streams.stack import stages

SOURCE = EuJournal(now=datetime(2026, 8, 21, tzinfo=UTC))
OBSERVED = datetime(2026, 8, 21, 12, tzinfo=UTC)


def journal(snapshot: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / INDEX).write_text("[]")
    files = DiskSnapshot({INDEX: tmp_path / INDEX, **real_files("eu_journal", snapshot)})
    return read_snapshot(SOURCE, files, snapshot)


def journal_changes(tmp_path: Path) -> list[ListChange]:
    before, after = journal("2026-08-15", tmp_path), journal("2026-08-21", tmp_path)
    return list(diff("eu_journal", before.entries, "a", after, OBSERVED, SOURCE.info))


async def collect(s: Stages, c: ListChange) -> list[Alert]:
    sent: list[Alert] = []

    async def send(alert: Alert) -> None:
        sent.append(alert)

    await s.match(enrich(c), send)
    return sent


def test_new_listings_of_the_real_acts_are_provisional_additions(tmp_path: Path) -> None:
    changes = journal_changes(tmp_path)
    # 2026/1720 lists 9; 2026/1960 amends 6 old entries (left out) and adds Abubakar Swalleh.
    assert len(changes) == 10
    assert all(c.change == "added" and c.provisional_for == "eu_fsf" for c in changes)
    neelov = next(c for c in changes if c.current.name == "Dmitry NEELOV")
    assert neelov.entry_key == "32026R1720|141"
    assert neelov.current.source_url == "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32026R1720"
    assert "Дмитрий НЕЕЛОВ" in neelov.current.aliases
    assert any(c.current.name == "Abubakar Swalleh" for c in changes)


async def test_one_provisional_alert_then_a_confirmation_not_a_second_alert(
    redis: Redis, settings: CommonSettings, tmp_path: Path
) -> None:
    s = stages(redis, settings)
    await s.watches.put(WatchEntry(subscriber_id="s1", id="w1", name="Dmitry Neelov"))
    neelov = next(c for c in journal_changes(tmp_path) if c.current.name == "Dmitry NEELOV")

    [provisional] = await collect(s, neelov)
    assert (provisional.kind, provisional.provisional_for) == ("added", "eu_fsf")
    assert any("provisional: published in the Official Journal (32026R1720)" in r for r in provisional.reasons)

    # Three weeks later the FSF carries him, under its own key and spelling.
    fsf = Entry(key="EU.12345.67", name="Dmitry NEYOLOV", aliases=["Dmitry NEELOV", "Дмитрий НЕЕЛОВ"],
                entity_type="individual")  # fmt: skip
    [confirmation] = await collect(s, change(ChangeKind.ADDED, after=fsf, source="eu_fsf"))
    assert (confirmation.kind, confirmation.confirms) == ("confirmed", [provisional.alert_id])
    assert any("confirms the provisional alert from the Official Journal (32026R1720)" in r
               for r in confirmation.reasons)  # fmt: skip

    # Confirmed once: a later, unrelated FSF addition under the same name is an ordinary alert again.
    again = Entry(key="EU.99999.1", name="Dmitry NEELOV", entity_type="individual")
    [ordinary] = await collect(s, change(ChangeKind.ADDED, after=again, source="eu_fsf"))
    assert (ordinary.kind, ordinary.confirms) == ("added", [])


async def test_records_written_in_a_batch_are_seen_by_its_later_changes(
    redis: Redis, settings: CommonSettings, tmp_path: Path
) -> None:
    # The records are read for the whole batch at once: one written earlier in the batch must still be seen
    # by a later change of it, and one confirmed must be gone for the next. (In the stream an act and the FSF
    # entry it announces are weeks apart; here their alerts are reconciled as one batch.)
    s = stages(redis, settings)
    watch = WatchEntry(subscriber_id="s1", id="w1", name="Dmitry Neelov")
    neelov = next(c for c in journal_changes(tmp_path) if c.current.name == "Dmitry NEELOV")
    fsf = Entry(key="EU.12345.67", name="Dmitry NEYOLOV", aliases=["Dmitry NEELOV"], entity_type="individual")
    again = Entry(key="EU.99999.1", name="Dmitry NEELOV", entity_type="individual")
    batch = [enrich(c) for c in (neelov, change(ChangeKind.ADDED, after=fsf, source="eu_fsf"),
                                 change(ChangeKind.ADDED, after=again, source="eu_fsf"))]  # fmt: skip
    items = [(match_change(e, [watch], {"s1": DEFAULT_THRESHOLD}, OBSERVED), e) for e in batch]
    [[provisional], [confirmation], [ordinary]] = await s.provisional.reconcile_many(items)
    assert (provisional.kind, confirmation.kind, ordinary.kind) == ("added", "confirmed", "added")
    assert confirmation.confirms == [provisional.alert_id]
    assert await redis.keys(settings.redis_key("prov", "*")) == []


async def test_additions_to_other_lists_are_not_looked_up(settings: CommonSettings) -> None:
    # Only an addition to a confirming list (eu_fsf) can confirm a provisional alert: every other list's
    # alerts pass through without a read. A store whose Redis refuses connections shows which ones it reads.
    nowhere = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    store = ProvisionalStore(nowhere, settings)
    watch = WatchEntry(subscriber_id="s1", id="w1", name="Dmitry Neelov")
    entry = Entry(key="K1", name="Dmitry NEELOV", entity_type="individual")

    def added(source: str) -> tuple[list[Alert], EnrichedChange]:
        enriched = enrich(change(ChangeKind.ADDED, after=entry, source=source))
        return match_change(enriched, [watch], {"s1": DEFAULT_THRESHOLD}, OBSERVED), enriched

    try:
        items = [added("ofac_sdn"), added("un_sc")]
        assert await store.reconcile_many(items) == [alerts for alerts, _ in items]
        assert [a.kind for alerts, _ in items for a in alerts] == ["added", "added"]
        with pytest.raises(RedisError):
            await store.reconcile_many([added("eu_fsf")])
    finally:
        await nowhere.aclose()


async def test_an_act_naming_a_party_the_fsf_already_has_raises_nothing(
    redis: Redis, settings: CommonSettings, tmp_path: Path
) -> None:
    s = stages(redis, settings)
    await s.watches.put(WatchEntry(subscriber_id="s1", id="w1", name="Abubakar Swalleh"))
    listed = Entry(key="EU.777.1", name="Abubakar SWALLEH", entity_type="individual")
    [already] = await collect(s, change(ChangeKind.ADDED, after=listed, source="eu_fsf", baseline=True))
    assert already.kind == "already_listed"
    swalleh = next(c for c in journal_changes(tmp_path) if c.current.name == "Abubakar Swalleh")
    assert await collect(s, swalleh) == []


async def test_provisional_baselines_and_superseded_entries_alert_nobody(
    redis: Redis, settings: CommonSettings, tmp_path: Path
) -> None:
    s = stages(redis, settings)
    await s.watches.put(WatchEntry(subscriber_id="s1", id="w1", name="Dmitry Neelov"))
    after = journal("2026-08-21", tmp_path)
    baseline = list(diff("eu_journal", None, None, after, OBSERVED, SOURCE.info))
    assert all([await collect(s, c) == [] for c in baseline])
    gone = list(diff("eu_journal", after.entries, "b", journal("2026-08-15", tmp_path), OBSERVED, SOURCE.info))
    assert {c.removal for c in gone} == {"superseded"}
    assert all([await collect(s, c) == [] for c in gone])
