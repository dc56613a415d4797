"""monitor -> Kafka -> streams (a real faust worker process) -> Kafka -> alerts sink, end to end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from alerts.service import DeliveryService
from alerts.settings import AlertsSettings
from alerts.sinks.console import FileSink
from monitor.publisher import ChangePublisher
from streams.models import Alert, ChangeKind
from streams.settings import CommonSettings
from streams.topics import Topics, ensure_topics
from streams.watchlists import WatchEntry, WatchlistStore
from tests.conftest import wait_for
from tests.factories import change, entry


@pytest.fixture
def worker(kafka: str, env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams", "worker", "--datadir", str(tmp_path / "faust")],
        env={**os.environ, **env, "LISTWATCH_STREAMS_WEB_PORT": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
async def delivery(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "alerts.jsonl"
    service = DeliveryService(AlertsSettings.from_env(env), [FileSink(path)])
    await service.start()
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        yield path
    finally:
        stop.set()
        await task
        await service.stop()


async def test_change_about_watched_company_reaches_the_sink(
    worker: subprocess.Popen[bytes], delivery: Path, redis: Redis, settings: CommonSettings, topics: Topics
) -> None:
    store = WatchlistStore(redis, settings)
    await store.put(WatchEntry(subscriber_id="acme", id="supplier-1", name="Aerocaribbean Airlines"))
    await ensure_topics(settings, topics)

    watched = change(ChangeKind.ADDED, after=entry(key="36", name="AEROCARIBBEAN AIRLINES"))
    unwatched = change(ChangeKind.ADDED, after=entry(key="37", name="SOMEBODY ELSE LTD"))
    publisher = ChangePublisher(settings, topics)
    await publisher.start()
    try:
        await publisher.publish([unwatched, watched])
    finally:
        await publisher.stop()

    lines = await wait_for(lambda: delivery.exists() and delivery.read_bytes().splitlines(), within=90)
    assert worker.poll() is None, "stream worker died"
    [alert] = [Alert.loads(line) for line in lines]
    assert (alert.subscriber_id, alert.watch_id, alert.entry_key, alert.kind) == (
        "acme",
        "supplier-1",
        "36",
        "added",
    )
    assert alert.change_event_id == watched.event_id
