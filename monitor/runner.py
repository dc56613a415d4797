"""Running the monitor service until SIGINT/SIGTERM (``listwatch monitor``, ``python -m monitor``)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack

from contracts.clients import redis_client
from contracts.ops import ops_app, start_ops
from contracts.settings import configure_logging, use_event_loop
from contracts.topics import Topics, ensure_topics_when_up
from monitor.fetch import Fetcher, RetryPolicy
from monitor.metrics import MonitorMetrics
from monitor.publisher import ChangePublisher
from monitor.service import MonitorService
from monitor.settings import MonitorSettings
from monitor.sources import registry
from monitor.state import SnapshotStore


async def serve(settings: MonitorSettings, stop: asyncio.Event) -> None:
    common = settings.common
    topics = Topics.for_settings(common)
    sources = [registry(settings.feeds, settings.opensanctions_datasets)[s] for s in settings.sources]
    metrics = MonitorMetrics()
    async with AsyncExitStack() as stack:
        redis = redis_client(common)
        stack.push_async_callback(redis.aclose)
        await ensure_topics_when_up(common, topics, stop)
        fetcher = Fetcher(
            timeout_s=settings.http_timeout_s,
            max_bytes=settings.http_max_bytes,
            user_agent=settings.user_agent,
            policy=RetryPolicy(settings.http_retries, settings.http_backoff_s),
            concurrency=settings.http_concurrency,
        )
        await fetcher.start()
        stack.push_async_callback(fetcher.stop)
        publisher = ChangePublisher(common, topics)
        await publisher.start()
        stack.push_async_callback(publisher.stop)
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        service = MonitorService(settings, sources, fetcher, SnapshotStore(redis, common, owner), publisher, metrics)

        async def ready() -> dict[str, bool]:
            try:
                redis_ok = bool(await redis.ping())
            except Exception:  # noqa: BLE001 - any failure means "not ready"
                redis_ok = False
            return {"redis": redis_ok, "kafka": publisher.healthy}

        if settings.port:
            runner = await start_ops(ops_app(metrics.registry, ready), settings.port)
            stack.push_async_callback(runner.cleanup)
        logging.getLogger(__name__).info("monitor %s watching %s", owner, ", ".join(settings.sources))
        await service.run(stop)


def run(env: Mapping[str, str]) -> None:
    settings = MonitorSettings.from_env(env)
    configure_logging(settings.common)
    use_event_loop(settings.common)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(_main())
