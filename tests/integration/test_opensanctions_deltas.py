"""An OpenSanctions dataset through the monitor service: the full file once, then the publisher's deltas.

The list server serves the real yente fixtures (full file and the real delta files, linked in place); only
the small per-dataset ``index.json`` and ``delta.json`` are written here, so that their URLs point at it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics
from monitor import realdata
from monitor.fetch import Fetcher, RetryPolicy
from monitor.listserver import ListServer
from monitor.metrics import MonitorMetrics
from monitor.publisher import ChangePublisher
from monitor.service import MonitorService, Outcome
from monitor.settings import MonitorSettings
from monitor.sources.opensanctions import OpenSanctions
from monitor.state import SnapshotStore
from tests.integration.test_monitor_service import drain
from tests.snapshots import realdata_root

ID = "opensanctions_sanctions"
ZBN, THREE_IV = "20240527134702-zbn", "20240528134729-3iv"


def lay_out(root: Path) -> None:
    real = realdata_root()
    delta_index, deltas = realdata.opensanctions_deltas(real)
    fulls = {"v0": "2024-07-05_yente_t1", "v1": "2024-07-05_yente_t1", "v2": "2026-06-03_yente_zala"}
    versions = {"v0": ZBN, "v1": THREE_IV, "v2": "20260603000000-new"}
    listed = orjson.loads(delta_index.read_bytes())["versions"]
    for snap, full in fulls.items():
        folder = root / ID / snap
        folder.mkdir(parents=True)
        (folder / "entities.ftm.json").symlink_to(real / "opensanctions_ftm" / f"{full}_entities.ftm.json")
        (folder / "index.json").write_bytes(orjson.dumps({"version": versions[snap], "delta_url": "delta.json"}))
        (folder / "delta.json").write_bytes(orjson.dumps({"versions": {v: f"{v}.json" for v in listed}}))
        for version, path in deltas.items():
            (folder / f"{version}.json").symlink_to(path)


async def test_full_file_first_then_only_deltas_then_full_again_when_the_series_moved_on(
    aiohttp_server: Callable[..., Awaitable[TestServer]], kafka: str, redis: Redis, env: dict[str, str],
    settings: CommonSettings, topics: Topics, tmp_path: Path,
) -> None:  # fmt: skip
    lay_out(tmp_path / "lists")
    server = ListServer(tmp_path / "lists", {ID: ["v0", "v1", "v2"]})
    http = await aiohttp_server(server.app())
    monitor_settings = MonitorSettings.from_env({
        **env, "LISTWATCH_OPENSANCTIONS_DATASETS": "sanctions", "LISTWATCH_MONITOR_SOURCES": ID,
        "LISTWATCH_SOURCE_OPENSANCTIONS_SANCTIONS_URL": str(http.make_url(f"/{ID}/")),
        "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work"),
    })  # fmt: skip
    await ensure_topics(settings, topics)
    fetcher = Fetcher(timeout_s=30, max_bytes=50_000_000, user_agent="test", policy=RetryPolicy(1, 0.05), concurrency=2)
    publisher = ChangePublisher(settings, topics)
    await fetcher.start()
    await publisher.start()
    try:
        store = SnapshotStore(redis, settings, "replica-a")
        service = MonitorService(monitor_settings, [OpenSanctions("sanctions")], fetcher, store, publisher,
                                 MonitorMetrics())  # fmt: skip
        assert await store.acquire(ID, 30)

        # 1. No state: the full file, a baseline of its 6 targets, saved with the index's version.
        assert await service.check(ID) is Outcome.CHANGED
        baseline = await drain(settings, topics, "reader")
        assert (len(baseline), all(c.baseline for c in baseline)) == (6, True)
        assert (await store.meta(ID)).version == ZBN

        # 2. The index moved to 3iv: the four deltas since zbn are applied; the full file is not fetched.
        server.advance(ID)
        before = server.requests[f"{ID}/entities.ftm.json"]
        assert await service.check(ID) is Outcome.CHANGED
        assert server.requests[f"{ID}/entities.ftm.json"] == before
        changes = await drain(settings, topics, "reader")
        assert sorted((c.change, c.current.name) for c in changes) == [
            ("added", "Foobar Foobargroup"), ("added", "Janan Agha"), ("added", "Vladimir Nikolaevich PLOTNIKOV"),
        ]  # fmt: skip
        meta = await store.meta(ID)
        assert (meta.version, meta.count) == (THREE_IV, 9)

        # 3. Same version again: one small probe, nothing published.
        assert await service.check(ID) is Outcome.UNCHANGED
        assert await drain(settings, topics, "reader") == []

        # 4. A version the delta index does not lead to: the full file again, diffed as usual.
        server.advance(ID)
        assert await service.check(ID) is Outcome.CHANGED
        assert server.requests[f"{ID}/entities.ftm.json"] == before + 1
        kinds = [c.change for c in await drain(settings, topics, "reader")]
        assert (kinds.count("added"), kinds.count("removed")) == (14, 9)
        assert (await store.meta(ID)).version == "20260603000000-new"
    finally:
        await publisher.stop()
        await fetcher.stop()
