"""The alerts service: consumes the alerts topic into the delivery queue, runs the deliveries, and serves
the subscriptions API. Explicit start/stop; ``run`` until a stop event.

Offsets are committed only after every alert of a batch is recorded and queued in Redis: a crash re-reads
them, and recording is idempotent (by alert id), so nothing is lost and nothing is queued twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis.asyncio import Redis

from alerts.api import Deps, build_api
from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.sinks.apprise import AppriseSink
from alerts.sinks.base import Sink
from alerts.sinks.email import EmailSink
from alerts.sinks.webhook import WebhookSink
from alerts.store import AlertStore
from contracts.lag import LagMonitor
from contracts.models import Alert, WatchEvent
from contracts.ops import ops_app, start_ops
from contracts.topics import Groups, Topics, alert_key, ensure_topics
from streams.lists import ListStateStore
from streams.watchlists import WatchlistStore

log = logging.getLogger(__name__)


class AlertsService:
    def __init__(self, settings: AlertsSettings, operator_sinks: Sequence[Sink] = ()) -> None:
        self.settings = settings
        self.topics = Topics.for_settings(settings.common)
        self.groups = Groups.for_settings(settings.common)
        self.metrics = AlertsMetrics()
        self._operators = list(operator_sinks)
        self._consumer: Any = None
        self._producer: Any = None
        self._redis: Redis | None = None
        self._channels: dict[str, Sink] = {}
        self._runners: list[web.AppRunner] = []
        self.deliverer: Deliverer | None = None
        self.store: AlertStore | None = None

    async def start(self) -> None:
        s = self.settings
        await ensure_topics(s.common, self.topics)
        self._redis = Redis.from_url(s.common.redis_url)
        self.store = AlertStore(self._redis, s.common)
        self._producer = AIOKafkaProducer(bootstrap_servers=s.common.kafka_bootstrap, acks="all",
                                          enable_idempotence=True)  # fmt: skip
        await self._producer.start()
        channels: dict[str, Sink] = {
            "webhook": WebhookSink(s), "email": EmailSink(s.smtp), "apprise": AppriseSink(s.webhook_allow),
        }  # fmt: skip
        self._channels = channels
        self.deliverer = Deliverer(s, self.store, channels, self._operators, self._dead_letter, self.metrics)
        self._consumer = AIOKafkaConsumer(
            self.topics.alerts, bootstrap_servers=s.common.kafka_bootstrap,
            group_id=self.groups.alerts_delivery, enable_auto_commit=False,
            auto_offset_reset="earliest",
        )  # fmt: skip
        await self._consumer.start()
        if s.api_port:
            deps = Deps(
                settings=s, store=self.store, watches=WatchlistStore(self._redis, s.common),
                lists=ListStateStore(self._redis, s.common), deliverer=self.deliverer, channels=channels,
                publish_watch_events=self._publish_watch_events,
            )  # fmt: skip
            runner = web.AppRunner(build_api(deps), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, s.api_host, s.api_port).start()
            self._runners.append(runner)
        if s.metrics_port:
            self._runners.append(await start_ops(ops_app(self.metrics.registry, self._ready), s.metrics_port))

    async def _ready(self) -> dict[str, bool]:
        try:
            redis_ok = self._redis is not None and bool(await self._redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            redis_ok = False
        return {"redis": redis_ok, "kafka": self._consumer is not None}

    async def _dead_letter(self, alert: Alert) -> None:
        fut = await self._producer.send(
            self.topics.dead_letters, value=alert.dumps(), key=alert_key(alert.subscriber_id)
        )
        await fut

    async def _publish_watch_events(self, events: list[WatchEvent]) -> None:
        futures = [await self._producer.send(self.topics.watches, value=e.dumps(), key=alert_key(e.subscriber_id))
                   for e in events]  # fmt: skip
        for fut in futures:
            await fut

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        for sink in self._operators:
            await sink.aclose()
        for channel in self._channels.values():
            await channel.aclose()
        self._channels = {}
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(self._consume(stop), self._deliver(stop), self._measure_lag(stop))

    async def _measure_lag(self, stop: asyncio.Event) -> None:
        """Consumer lag of the stream workers and of this service, for ops (every 15 s)."""
        monitor = LagMonitor(self.settings.common, list(self.groups.all()), self.metrics.registry)
        while not stop.is_set():
            try:
                await monitor.measure()
            except Exception:
                log.warning("could not measure consumer lag", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=15)

    async def _consume(self, stop: asyncio.Event) -> None:
        consumer, deliverer = self._consumer, self.deliverer
        if consumer is None or deliverer is None:
            raise RuntimeError("AlertsService.run() before start()")
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=200)
            for records in batches.values():
                for record in records:
                    try:
                        alert = Alert.loads(record.value)
                    except Exception:
                        log.exception("skipping an unreadable alert at offset %s", record.offset)
                        continue
                    await deliverer.accept(alert)
            if batches:
                await consumer.commit()

    async def _deliver(self, stop: asyncio.Event) -> None:
        deliverer = self.deliverer
        if deliverer is None:
            raise RuntimeError("AlertsService.run() before start()")
        while not stop.is_set():
            try:
                await deliverer.flush_digests()
                busy = await deliverer.run_due()
            except Exception:
                log.exception("delivery loop error; retrying")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.25)
