"""monitor -> Kafka -> streams (a real faust worker process) -> Kafka -> alerts sink, end to end."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Callable
from pathlib import Path

from redis.asyncio import Redis

from contracts.clients import producer, send_all
from contracts.models import Alert, ChangeKind, ListChange
from contracts.settings import CommonSettings
from contracts.topics import Groups, Topics, change_key, ensure_topics
from monitor.publisher import ChangePublisher
from streams.enrich.change import enrich
from streams.watch_events import publish_watch_events, watch_event
from streams.watchlists import WatchEntry, WatchlistStore
from tests.conftest import wait_for
from tests.factories import change, entry, made_up_name
from tests.integration.conftest import Worker, watch_names


async def publish(settings: CommonSettings, topics: Topics, changes: list[ListChange]) -> None:
    await ensure_topics(settings, topics)
    publisher = ChangePublisher(settings, topics)
    await publisher.start()
    try:
        await publisher.publish(changes)
    finally:
        await publisher.stop()


def alerts(read: Callable[[], list[bytes]]) -> list[Alert]:
    return [Alert.loads(line) for line in read()]


async def test_watched_change_reaches_only_its_subscribers_once(
    worker: Worker, delivered: Callable[[], list[bytes]], redis: Redis, settings: CommonSettings, topics: Topics
) -> None:
    store = WatchlistStore(redis, settings)
    await store.put(WatchEntry(subscriber_id="acme", id="supplier-1", name="Aerocaribbean Airlines"))
    await store.put(WatchEntry(subscriber_id="globex", id="c-7", name="Globex Unrelated Holdings"))
    watched = change(ChangeKind.ADDED, after=entry(key="36", name="AEROCARIBBEAN AIRLINES"))
    unwatched = change(ChangeKind.ADDED, after=entry(key="37", name="SOMEBODY ELSE LTD"))
    # The watched change twice (a second monitor replica, a retried publish): one alert.
    await publish(settings, topics, [unwatched, watched, watched])
    await wait_for(lambda: alerts(delivered), within=90)
    await asyncio.sleep(3)  # room for a wrong second alert to arrive
    assert worker.alive(), "stream worker died"
    [alert] = alerts(delivered)
    assert (alert.subscriber_id, alert.watch_id, alert.entry_key, alert.kind) == ("acme", "supplier-1", "36", "added")
    assert alert.change_event_id == watched.event_id
    assert alert.jurisdiction is None or isinstance(alert.jurisdiction, str)


async def test_a_change_an_earlier_version_enriched_is_still_matched(
    worker: Worker, delivered: Callable[[], list[bytes]], redis: Redis, settings: CommonSettings, topics: Topics
) -> None:
    """Workers before 2026-11-29 sent enriched changes to a topic of their own; what was left there at an
    upgrade is matched by today's worker, not lost."""
    await WatchlistStore(redis, settings).put(WatchEntry(subscriber_id="acme", id="s", name="Aerocaribbean Airlines"))
    enriched = enrich(change(ChangeKind.ADDED, after=entry(key="36", name="AEROCARIBBEAN AIRLINES")))
    await ensure_topics(settings, topics)
    kafka = producer(settings)
    await kafka.start()
    try:
        key = change_key(enriched.change.source, enriched.change.entry_key)
        await send_all(kafka, topics.enriched, [(key, enriched.dumps())])
    finally:
        await kafka.stop()
    [alert] = await wait_for(lambda: alerts(delivered), within=90)
    assert (alert.watch_id, alert.entry_key, alert.change_event_id) == ("s", "36", enriched.change.event_id)


async def test_new_watch_for_an_already_listed_company(
    worker: Worker, delivered: Callable[[], list[bytes]], redis: Redis, settings: CommonSettings, topics: Topics
) -> None:
    # The list's baseline arrives first: nobody watches yet, so no alert.
    listed = change(ChangeKind.ADDED, after=entry(key="306", name="BANCO NACIONAL DE CUBA",
                                                  aliases=["NATIONAL BANK OF CUBA"]), baseline=True)  # fmt: skip
    await publish(settings, topics, [listed])
    lists_key = f"{settings.namespace}:list:ofac_sdn"
    await wait_for(lambda: redis.hexists(lists_key, "306"), within=90)
    assert alerts(delivered) == []
    # Now a subscriber starts watching the bank under its English name.
    await WatchlistStore(redis, settings).put(WatchEntry(subscriber_id="s1", id="bank", name="National Bank of Cuba"))
    await publish_watch_events(settings, [watch_event("s1", "bank")])
    [alert] = await wait_for(lambda: alerts(delivered), within=60)
    assert (alert.kind, alert.entry_key, alert.watch_id, alert.before) == ("already_listed", "306", "bank", None)


async def test_an_addition_is_not_held_up_behind_a_baseline(
    worker: Worker, delivered: Callable[[], list[bytes]], redis: Redis, settings: CommonSettings, topics: Topics
) -> None:
    # A baseline of 3,000 entries, each one watched (so each makes an alert, in the order they are handled),
    # then an addition to another list. On one lane the addition's alert would come last.
    size = 3000
    names = [made_up_name(n) for n in range(size + 1)]
    assert len(set(names)) == len(names)
    store = WatchlistStore(redis, settings)
    for start in range(0, len(names), 500):
        await store.put_many(WatchEntry(subscriber_id="s", id=f"w{i}", name=names[i])
                             for i in range(start, min(start + 500, len(names))))  # fmt: skip
    listed = [change(ChangeKind.ADDED, after=entry(key=str(i), name=names[i].upper()), baseline=True)
              for i in range(size)]  # fmt: skip
    addition = change(ChangeKind.ADDED, after=entry(key="1", name=names[size].upper()), source="un_sc")
    await publish(settings, topics, listed)
    await publish(settings, topics, [addition])
    await wait_for(lambda: len(alerts(delivered)) >= size + 1, within=300)
    got = alerts(delivered)
    assert len({a.alert_id for a in got}) == size + 1
    position = [a.change_event_id for a in got].index(addition.event_id)
    assert position < size // 2, f"the addition's alert came {position + 1}th of {size + 1}"
    print(f"the addition's alert came {position + 1}th of {size + 1}")


async def test_worker_crash_loses_and_duplicates_nothing(
    worker: Worker, delivered: Callable[[], list[bytes]], redis: Redis, settings: CommonSettings, topics: Topics
) -> None:
    names = [f"Zetaquorp Number{i} Logistics" for i in range(12)]
    await watch_names(redis, settings, names)
    first = [change(ChangeKind.ADDED, after=entry(key=str(100 + i), name=n.upper())) for i, n in enumerate(names[:6])]
    second = [change(ChangeKind.ADDED, after=entry(key=str(200 + i), name=n.upper())) for i, n in enumerate(names[6:])]
    await publish(settings, topics, first)
    await wait_for(lambda: len(alerts(delivered)) >= 6, within=90)
    worker.stop(signal.SIGKILL)  # a crash: no graceful commit
    await publish(settings, topics, second + first)  # new changes, and the old ones redelivered
    worker.start()
    await wait_for(lambda: len(alerts(delivered)) >= 12, within=120)
    await asyncio.sleep(5)
    got = alerts(delivered)
    assert sorted(a.watch_id for a in got) == sorted(f"w{i}" for i in range(12))
    assert len({a.alert_id for a in got}) == len(got) == 12


async def test_two_workers_share_the_partitions_and_alert_once(
    worker: Worker, second_worker: Worker, delivered: Callable[[], list[bytes]], redis: Redis,
    settings: CommonSettings, topics: Topics, tmp_path: Path,
) -> None:
    names = [f"Kappaline Number{i} Shipping" for i in range(24)]
    await watch_names(redis, settings, names)
    # Both workers in both groups before the changes arrive (a fixed pause was too short on a slow host: the
    # second worker's baseline consumer joins once its faust app is up).
    groups = Groups.for_settings(settings)
    await wait_for(lambda: _both_joined(_last_assignments(tmp_path), groups), within=120)
    # Additions on the changes lane, and another list's baseline on the baseline lane.
    changes = [change(ChangeKind.ADDED, after=entry(key=str(300 + i), name=n.upper())) for i, n in enumerate(names[:16])]
    changes += [change(ChangeKind.ADDED, after=entry(key=str(i), name=n.upper()), source="un_sc", baseline=True)
                for i, n in enumerate(names[16:])]  # fmt: skip
    await publish(settings, topics, changes)
    await wait_for(lambda: len(alerts(delivered)) >= 24, within=120)
    await asyncio.sleep(3)
    got = alerts(delivered)
    assert sorted(a.watch_id for a in got) == sorted(f"w{i}" for i in range(24))
    assert len({a.alert_id for a in got}) == 24
    assert sorted(a.kind for a in got) == ["added"] * 16 + ["already_listed"] * 8
    assert worker.alive()
    assert second_worker.alive()
    # Each group split its partitions: each worker's last assignment in the changes lane's group holds part of
    # the changes topic, and its last one in the baseline lane's group part of the baselines topic.
    assignments = await asyncio.to_thread(_last_assignments, tmp_path)
    assert len(assignments) == 2
    for last in assignments:
        assert f"{topics.changes}" in last[groups.changes], last
        assert f"{topics.baselines}" in last[groups.baselines], last


def _both_joined(assignments: list[dict[str, str]], groups: Groups) -> bool:
    return len(assignments) == 2 and all(groups.changes in a and groups.baselines in a for a in assignments)


def _last_assignments(tmp_path: Path) -> list[dict[str, str]]:
    """Per worker log under ``tmp_path``: each consumer group's last assignment as logged (the partitions table)."""
    logs = [p.read_text(errors="replace") for p in tmp_path.rglob("worker-*.log")]
    return [{group: held for held, group in
             re.findall(r"Setting newly assigned partitions(.*?)for group (\S+)", log, re.DOTALL)}
            for log in logs]  # fmt: skip
