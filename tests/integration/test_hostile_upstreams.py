"""Hostile or broken publishers, after a good real baseline: a server that hangs, one that trickles bytes
(slowloris), 5xx on every try, a body cut short, an empty body, HTML instead of CSV, the wrong encoding, a
body over the cap, a gzip bomb. Each: no crash, nothing published, the previous state kept, one clear log
line naming the source, and a metric."""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics
from monitor.fetch import Fetcher, RetryPolicy
from monitor.metrics import MonitorMetrics
from monitor.publisher import ChangePublisher
from monitor.service import MonitorService, Outcome
from monitor.settings import MonitorSettings
from monitor.sources.ofac_sdn import OfacSdn
from monitor.state import SnapshotStore
from tests.integration.test_monitor_service import drain
from tests.snapshots import real_files

GOOD = "gitscrape_2021-11-10"
# mode -> what the check must end as: the download failed, or the snapshot was refused by a guard
MODES = {"hang": "failed", "slowloris": "failed", "5xx": "failed", "truncated": "failed", "empty": "rejected",
         "html": "rejected", "utf16": "rejected", "oversize": "failed", "gzip_bomb": "failed", "forbidden": "failed",
         "moved": "failed", "rate_limited": "failed"}  # fmt: skip
# mode -> the reason label of listwatch_fetch_failures_total for the failed ones
REASONS = {"hang": "timeout", "slowloris": "timeout", "5xx": "server_error", "truncated": "network",
           "oversize": "too_large", "gzip_bomb": "too_large", "forbidden": "forbidden", "moved": "not_found",
           "rate_limited": "rate_limited"}  # fmt: skip


def _hostile_app(mode: str, good: bytes) -> web.Application:
    state = {"served": 0}

    async def sdn(request: web.Request) -> web.StreamResponse:
        state["served"] += 1
        if state["served"] == 1:  # the first request gets the real file: the baseline
            return web.Response(body=good)
        if mode == "hang":
            await asyncio.sleep(30)
        if mode == "slowloris":
            resp = web.StreamResponse(headers={"Content-Length": str(len(good))})
            await resp.prepare(request)
            for _ in range(30):
                await resp.write(b"1")
                await asyncio.sleep(0.5)
            return resp
        if mode == "5xx":
            return web.Response(status=503, text="building the file")
        if mode == "forbidden":  # a WAF answering unknown clients
            return web.Response(status=403, text="<html>Forbidden</html>", content_type="text/html")
        if mode == "moved":  # the page moved and the old address is gone
            return web.Response(status=404, text="Not Found")
        if mode == "rate_limited":
            return web.Response(status=429, headers={"Retry-After": "0"}, text="slow down")
        if mode == "truncated":
            resp = web.StreamResponse(headers={"Content-Length": str(len(good))})
            await resp.prepare(request)
            await resp.write(good[: len(good) // 3])
            if request.transport is not None:
                request.transport.close()
            return resp
        if mode == "empty":
            return web.Response(body=b"")
        if mode == "html":
            return web.Response(text="<html><body><h1>Access denied</h1><p>Request blocked.</p></body></html>",
                                content_type="text/html")  # fmt: skip
        if mode == "utf16":
            return web.Response(body=good.decode("utf-8", "replace").encode("utf-16"))
        if mode == "oversize":
            return web.Response(body=good * 4)  # over the fetcher's cap below
        if mode == "gzip_bomb":
            return web.Response(body=gzip.compress(b"0" * (64 * 1024 * 1024)), headers={"Content-Encoding": "gzip"})
        raise AssertionError(mode)

    app = web.Application()
    app.router.add_get("/ofac_sdn/sdn.csv", sdn)
    return app


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_a_hostile_upstream_changes_nothing(
    mode: str, kafka: str, redis: Redis, env: dict[str, str], tmp_path: Path, settings: CommonSettings,
    topics: Topics, aiohttp_server: Callable[..., Awaitable[TestServer]], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    good = real_files("ofac_sdn", GOOD)["sdn.csv"].read_bytes()
    http = await aiohttp_server(_hostile_app(mode, good))
    monitor_settings = MonitorSettings.from_env({
        **env, "LISTWATCH_MONITOR_SOURCES": "ofac_sdn", "LISTWATCH_SOURCE_OFAC_SDN_URL": str(http.make_url("/ofac_sdn/")),
        "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work"),
    })  # fmt: skip
    await ensure_topics(settings, topics)
    fetcher = Fetcher(timeout_s=3, max_bytes=3 * len(good), user_agent="test", policy=RetryPolicy(1, 0.05),
                      concurrency=2)  # fmt: skip
    publisher = ChangePublisher(settings, topics)
    await fetcher.start()
    await publisher.start()
    try:
        metrics = MonitorMetrics()
        service = MonitorService(monitor_settings, [OfacSdn()], fetcher, SnapshotStore(redis, settings, "m"),
                                 publisher, metrics)  # fmt: skip
        assert await service._store.acquire("ofac_sdn", 60)
        assert await service.check("ofac_sdn") is Outcome.CHANGED
        baseline = await drain(settings, topics, "reader")
        assert len(baseline) == 9139
        before = await service._store.meta("ofac_sdn")

        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="monitor"):
            outcome = await service.check("ofac_sdn")
        assert outcome.value == MODES[mode]
        assert await drain(settings, topics, "reader") == []
        after = await service._store.meta("ofac_sdn")
        assert (after.snapshot_id, after.count) == (before.snapshot_id, before.count) == (before.snapshot_id, 9139)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "ofac_sdn" in r.getMessage()]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        failed = metrics.fetches.labels("ofac_sdn", outcome.value)._value.get()
        assert failed == 1
        if mode in REASONS:
            assert metrics.fetch_failures.labels("ofac_sdn", REASONS[mode])._value.get() == 1
        assert not list((tmp_path / "work").rglob("*.part"))  # no partial download left behind
    finally:
        await publisher.stop()
        await fetcher.stop()
