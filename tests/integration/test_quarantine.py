"""A change that fails for a reason other than an outage (here: its entry's stored state is corrupt) on two
stream worker replicas: it is set aside on the quarantine topic, once, with its error; the rest of its batch
and everything after it alert once; both workers keep running; and once the state is mended,
``listwatch quarantine replay`` puts it back and it alerts, once. A record that is no change at all is set
aside too, never dropped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from contracts.cli import main
from contracts.clients import producer, send_all
from contracts.models import ChangeKind
from contracts.settings import CommonSettings
from contracts.topics import Groups, Topics
from streams.quarantine import read_pending
from tests.conftest import wait_for
from tests.factories import change, entry
from tests.integration.conftest import Worker, watch_names
from tests.integration.test_pipeline import _both_joined, _last_assignments, alerts, publish

# What no version of listwatch writes: a stored entry that cannot be read back.
_CORRUPT = b"\x07not an entry"


async def test_a_failing_change_is_quarantined_once_by_two_replicas_and_replayed(
    worker: Worker, second_worker: Worker, delivered: Callable[[], list[bytes]], redis: Redis, env: dict[str, str],
    settings: CommonSettings, topics: Topics, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    names = [f"Quillamere Number{i} Freight" for i in range(12)]
    await watch_names(redis, settings, names)
    await wait_for(lambda: _both_joined(_last_assignments(tmp_path), Groups.for_settings(settings)), within=120)
    # One entry on each lane whose stored state is corrupt: every attempt at it fails the same way.
    await redis.hset(settings.redis_key("list", "ofac_sdn"), "500", _CORRUPT)
    await redis.hset(settings.redis_key("list", "un_sc"), "600", _CORRUPT)
    poison = [
        change(ChangeKind.MODIFIED, before=entry(key="500", name="OLD NAME"), after=entry(key="500", name=names[0].upper())),
        change(ChangeKind.ADDED, after=entry(key="600", name=names[1].upper()), source="un_sc", baseline=True),
    ]  # fmt: skip
    good = [change(ChangeKind.ADDED, after=entry(key=str(510 + i), name=n.upper())) for i, n in enumerate(names[2:7])]
    good += [change(ChangeKind.ADDED, after=entry(key=str(610 + i), name=n.upper()), source="un_sc", baseline=True)
             for i, n in enumerate(names[7:])]  # fmt: skip
    # The poison in the middle of each lane's batch, and the same poison again later (a redelivery).
    await publish(settings, topics, [*good[:2], poison[0], *good[2:5], *good[5:7], poison[1], *good[7:], *poison])
    # and a record on each lane that is no ListChange at all (a tool writing to the wrong topic)
    await _send_raw(settings, [(topics.changes, b"k1", b"not a change"), (topics.baselines, b"k2", b'{"event_id": "x"}')])
    await wait_for(lambda: len(alerts(delivered)) >= 10, within=120)
    pending = await wait_for(lambda: _pending(settings, topics, 6), within=60)
    garbage = [p for p in pending if p.value in (b"not a change", b'{"event_id": "x"}')]
    assert sorted((p.origin, p.lane, p.key) for p in garbage) == sorted(
        [(topics.changes, "changes", b"k1"), (topics.baselines, "baseline", b"k2")]
    )  # each with its own key: replayed, it lands in its partition
    pending = [p for p in pending if p not in garbage]
    await asyncio.sleep(3)
    got = alerts(delivered)
    assert sorted(a.watch_id for a in got) == sorted(f"w{i}" for i in range(2, 12))
    assert len({a.alert_id for a in got}) == len(got)
    assert worker.alive()
    assert second_worker.alive()
    # Each failure set aside with where it came from and why; a poison delivered twice is set aside twice.
    assert sorted((p.origin, p.lane) for p in pending) == sorted(
        [(topics.changes, "changes")] * 2 + [(topics.baselines, "baseline")] * 2
    )
    assert all(p.error.startswith("zlib.error: ") for p in pending), [p.error for p in pending]
    assert {p.event_id for p in pending} == {c.event_id for c in poison}

    capsys.readouterr()
    assert await asyncio.to_thread(main, ["quarantine", "show"], env) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(str(s["event_id"]) for s in shown) == sorted(
        [*(c.event_id for c in poison for _ in range(2)), "None", "x"]
    )

    # Mended (the corrupt state removed), then replayed: each poison alerts once, the rest not again.
    await redis.hdel(settings.redis_key("list", "ofac_sdn"), "500")
    await redis.hdel(settings.redis_key("list", "un_sc"), "600")
    assert await asyncio.to_thread(main, ["quarantine", "replay"], env) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["replayed"] == 6
    await wait_for(lambda: len(alerts(delivered)) >= 12, within=120)
    await asyncio.sleep(3)
    got = alerts(delivered)
    assert sorted(a.watch_id for a in got) == sorted(f"w{i}" for i in range(12))
    assert len({a.alert_id for a in got}) == len(got) == 12
    # what is still no ListChange is set aside again, and only that
    again = await wait_for(lambda: _pending(settings, topics, 2), within=60)
    assert sorted(p.value for p in again) == sorted(p.value for p in garbage)


async def _send_raw(settings: CommonSettings, records: list[tuple[str, bytes, bytes]]) -> None:
    kafka = producer(settings)
    await kafka.start()
    try:
        for topic, key, value in records:
            await send_all(kafka, topic, [(key, value)])
    finally:
        await kafka.stop()


async def _pending(settings: CommonSettings, topics: Topics, n: int) -> list | None:  # type: ignore[type-arg]
    found = await read_pending(settings, topics)
    return found if len(found) >= n else None
