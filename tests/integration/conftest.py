"""Fixtures for tests that run real processes: a faust stream worker and the alerts delivery service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.sinks.console import FileSink
from contracts.settings import CommonSettings
from streams.watchlists import WatchEntry, WatchlistStore


class Worker:
    """A stream worker process that a test can stop (gracefully or not) and start again."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self._env = {**os.environ, **env, "LISTWATCH_STREAMS_WEB_PORT": "0", "LISTWATCH_STATE_DIR": str(tmp_path / "state")}
        self._tmp = tmp_path
        self._runs = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._runs += 1
        log = (self._tmp / f"worker-{self._runs}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams"],
            env=self._env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def worker(kafka: str, env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    w = Worker(env, tmp_path)
    w.start()
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def second_worker(worker: Worker, env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    """A second stream worker process beside ``worker`` (its log under ``tmp_path / "second"``)."""
    (tmp_path / "second").mkdir()
    w = Worker(env, tmp_path / "second")
    w.start()
    try:
        yield w
    finally:
        w.stop()


async def watch_names(redis: Redis, settings: CommonSettings, names: list[str]) -> None:
    """Subscriber ``s`` watches each name, as ``w{i}``."""
    store = WatchlistStore(redis, settings)
    for i, name in enumerate(names):
        await store.put(WatchEntry(subscriber_id="s", id=f"w{i}", name=name))


@pytest.fixture
async def delivered(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Callable[[], list[bytes]]]:
    """Runs the delivery service into a file sink; returns a reader of the JSON lines so far."""
    path = tmp_path / "alerts.jsonl"
    settings = AlertsSettings.from_env({**env, "LISTWATCH_API_PORT": "0", "LISTWATCH_METRICS_PORT": "0"})
    service = AlertsService(settings, [FileSink(path)])
    await service.start()
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))

    def read() -> list[bytes]:
        return path.read_bytes().splitlines() if path.exists() else []

    try:
        yield read
    finally:
        stop.set()
        await task
        await service.stop()
