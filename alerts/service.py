"""The alerts service: consumes the alerts topic into the delivery queue, runs the deliveries, and serves
the subscriptions API. Explicit start/stop; ``run`` until a stop event.

Offsets are committed only after every alert of a batch is recorded and queued in Redis: a crash re-reads
them, and recording is idempotent (by alert id), so nothing is lost and nothing is queued twice.
A Redis or Kafka outage is ridden out: the alert being recorded is retried with backoff (never skipped),
delivery resumes where it stopped, readiness reports the outage, the process stays alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from aiohttp import web
from aiokafka import AIOKafkaConsumer

from alerts.api import Deps, build_api
from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.sinks import channels as build_channels
from alerts.sinks.base import Sink
from alerts.store import AlertStore
from alerts.web import mount_pages
from contracts import codec
from contracts.clients import TRANSIENT, Backoff, Producer, producer, redis_client, ride_out, send_all
from contracts.lag import LagMonitor
from contracts.models import Alert, WatchEvent
from contracts.ops import ops_app, start_ops
from contracts.topics import Groups, Topics, alert_key, ensure_topics_when_up
from streams.list_state import ListStateStore
from streams.watchlists import WatchlistStore

log = logging.getLogger(__name__)


class AlertsService:
    def __init__(self, settings: AlertsSettings, operator_sinks: Sequence[Sink] = ()) -> None:
        self.settings = settings
        self.topics = Topics.for_settings(settings.common)
        self.groups = Groups.for_settings(settings.common)
        self.metrics = AlertsMetrics()
        self._operators = list(operator_sinks)
        self._stack: AsyncExitStack | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: Producer | None = None
        self.deliverer: Deliverer | None = None
        self.store: AlertStore | None = None
        # What the last use of each dependency showed; readiness reports it.
        self._healthy = {"redis": True, "kafka": True}

    async def start(self) -> None:
        """Open every client; on a failure, close what was opened and raise."""
        async with AsyncExitStack() as stack:
            await self._open(stack)
            self._stack = stack.pop_all()

    async def _open(self, stack: AsyncExitStack) -> None:
        s = self.settings
        await ensure_topics_when_up(s.common, self.topics)
        redis = redis_client(s.common)
        stack.push_async_callback(redis.aclose)
        self.store = AlertStore(redis, s.common)
        kafka = producer(s.common)
        await kafka.start()
        stack.push_async_callback(kafka.stop)
        self._producer = kafka
        for sink in self._operators:
            stack.push_async_callback(sink.aclose)
        channels = build_channels(s)
        for channel in channels.values():
            stack.push_async_callback(channel.aclose)
        self.deliverer = Deliverer(s, self.store, channels, self._operators, self._dead_letter, self.metrics)
        consumer = AIOKafkaConsumer(
            self.topics.alerts, bootstrap_servers=s.common.kafka_bootstrap,
            group_id=self.groups.alerts_delivery, enable_auto_commit=False, auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        self._consumer = consumer
        if s.api_port:
            deps = Deps(
                settings=s, store=self.store, watches=WatchlistStore(redis, s.common),
                lists=ListStateStore(redis, s.common), deliverer=self.deliverer, channels=channels,
                publish_watch_events=self._publish_watch_events,
            )  # fmt: skip
            app = build_api(deps)
            mount_pages(app, deps)  # the subscribers' web pages, beside /v1 on the same port
            api = await self._serve(app, s.api_host, s.api_port)
            stack.push_async_callback(api.cleanup)
        if s.metrics_port:
            runner = await start_ops(ops_app(self.metrics.registry, self._ready), s.metrics_port)
            stack.push_async_callback(runner.cleanup)

    async def _serve(self, app: web.Application, host: str, port: int) -> web.AppRunner:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        return runner

    async def _ready(self) -> dict[str, bool]:
        try:
            redis_ok = self.store is not None and bool(await self.store.redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            redis_ok = False
        return {"redis": redis_ok and self._healthy["redis"], "kafka": self._healthy["kafka"]}

    def _kafka(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("AlertsService used before start()")
        return self._producer

    async def _dead_letter(self, alert: Alert) -> None:
        await send_all(self._kafka(), self.topics.dead_letters, [(alert_key(alert.subscriber_id), alert.dumps())])

    async def _publish_watch_events(self, events: list[WatchEvent]) -> None:
        await send_all(self._kafka(), self.topics.watches, [(alert_key(e.subscriber_id), e.dumps()) for e in events])

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self._consumer = self._producer = None

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(self._consume(stop), self._deliver(stop), self._measure_lag(stop), self._migrate(stop))

    async def _migrate(self, stop: asyncio.Event) -> None:
        """Watch ids an earlier version stored moved to today's layout (streams/watch_ids.py), once, in steps
        (replicas may both run it: each step is atomic). Until then they are read where they are."""
        if self.store is None:
            raise RuntimeError("AlertsService.run() before start()")
        backoff = Backoff(base=1.0, cap=30.0)
        while not stop.is_set():
            try:
                moved = await WatchlistStore(self.store.redis, self.settings.common).migrate()
            except TRANSIENT as exc:
                log.warning("could not move the watch ids yet (%s: %s)", type(exc).__name__, exc)
                await backoff.wait(stop)
                continue
            if moved:
                log.info("moved the watch ids of %d subscribers to the compact layout", moved)
            return

    async def _measure_lag(self, stop: asyncio.Event) -> None:
        """Consumer lag of the stream workers and of this service, for ops (every 15 s)."""
        monitor = LagMonitor(self.settings.common, self.groups.reads(self.topics), self.metrics.registry)
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
        backoff = Backoff(base=0.2, cap=5.0)
        while not stop.is_set():
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=200)
            except TRANSIENT as exc:
                self._outage("kafka", exc, backoff)
                await backoff.wait(stop)
                continue
            for records in batches.values():
                for record in records:
                    try:
                        alert = codec.loads(Alert, record.value)
                    except Exception:
                        log.exception("skipping an unreadable alert at offset %s", record.offset)
                        continue
                    # Never skipped: recorded once Redis answers again (stop abandons it uncommitted).
                    while not stop.is_set():
                        try:
                            await deliverer.accept(alert)
                            break
                        except TRANSIENT as exc:
                            self._outage("redis", exc, backoff)
                            await backoff.wait(stop)
                    if stop.is_set():
                        return
            self._recovered("redis", backoff)
            if batches:
                try:
                    # What was recorded must survive a failover before Kafka is told it is done.
                    await ride_out(deliverer.store.replicated, "replicate")
                    await consumer.commit()
                    self._recovered("kafka", backoff)
                except TRANSIENT as exc:  # committed with a later batch; re-reading is idempotent
                    self._outage("kafka", exc, backoff)

    def _outage(self, name: str, exc: BaseException, backoff: Backoff) -> None:
        if self._healthy[name]:
            log.error("%s unavailable (%s: %s); retrying with backoff", name, type(exc).__name__, exc)
        self._healthy[name] = False

    def _recovered(self, name: str, backoff: Backoff) -> None:
        if not self._healthy[name]:
            log.info("%s reachable again", name)
        self._healthy[name] = True
        backoff.reset()

    async def _deliver(self, stop: asyncio.Event) -> None:
        deliverer = self.deliverer
        if deliverer is None:
            raise RuntimeError("AlertsService.run() before start()")
        backoff = Backoff(base=0.2, cap=5.0)
        while not stop.is_set():
            try:
                await deliverer.flush_digests()
                busy = await deliverer.run_due()
                backoff.reset()
            except TRANSIENT as exc:
                log.warning("delivery paused: %s: %s", type(exc).__name__, exc)
                await backoff.wait(stop)
                continue
            except Exception:
                log.exception("delivery loop error; retrying")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.25)
