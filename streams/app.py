"""The faust application: built by a factory from settings, never a module global.

Topology (every topic and group in contracts/topics.py):
    changes --[the changes lane (streams/lane.py), its own consumer group: dedupe, enrich, list state,
    candidates, score; one step]--> alerts;
    changes.baseline --[the baseline lane (streams/lane.py), a group of its own too: the same step]--> alerts;
    watches --[listwatch.screen, a faust agent: already listed?]--> alerts;
    changes.enriched --[listwatch.match: drains what workers before 2026-11-29 enriched there]--> alerts;
    an event any of them fails for a reason other than an outage --> quarantine (streams/quarantine.py)
Keys keep each list entry's changes in one partition, so workers share partitions and order holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from redis.asyncio import Redis

from contracts.clients import redis_client
from contracts.models import Alert, EnrichedChange, WatchEvent
from contracts.topics import Groups, Topics
from streams.bilingual import BilingualStore
from streams.dedupe.store import DedupeStore
from streams.lane import ChangeLane
from streams.list_state import ListStateStore
from streams.match.agents import register_agents
from streams.metrics import StreamsMetrics
from streams.produce import faust_sender
from streams.provisional import ProvisionalStore
from streams.quarantine import Quarantine
from streams.settings import StreamsSettings
from streams.stages import Stages
from streams.watchlists import WatchlistStore

# The worker's producer sends a partition's records in requests of at most this many bytes, one request in
# flight per partition. At faust's default (16 KB) a batch of 500 alerts (1.4 KB each, the benchmark's) took ten
# round trips a partition, one after another: 35-54 ms of waiting for acknowledgements per batch, against
# 10-14 ms with this (docs/benchmarks.md). Within the broker's default message.max.bytes (about 1 MB).
ALERTS_PRODUCE_BATCH_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class StreamsApp:
    app: faust.App
    topics: Topics
    redis: Redis
    stages: Stages


def build_app(settings: StreamsSettings) -> StreamsApp:
    common = settings.common
    topics = Topics.for_settings(common)
    groups = Groups.for_settings(common)
    app = faust.App(
        groups.streams,
        broker=[f"kafka://{b.strip()}" for b in common.kafka_bootstrap.split(",")],
        store="memory://",
        datadir=str(settings.data_dir),
        topic_partitions=common.kafka_partitions,
        topic_replication_factor=common.kafka_replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,
        producer_max_batch_size=ALERTS_PRODUCE_BATCH_BYTES,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_host="127.0.0.1",
        web_bind="127.0.0.1",
    )

    def topic(name: str, value_type: type[faust.Record] | type[bytes]) -> faust.TopicT:
        raw = value_type is bytes  # decoded by the agent itself
        return app.topic(
            name, key_type=bytes, value_type=value_type, key_serializer="raw", partitions=common.kafka_partitions,
            value_serializer="raw" if raw else None,
        )  # fmt: skip

    redis = redis_client(common)
    metrics = StreamsMetrics()
    stages = Stages(
        watches=WatchlistStore(redis, common),
        lists=ListStateStore(redis, common),
        match_dedupe=DedupeStore(redis, common, "match", settings.dedupe_ttl_s),
        metrics=metrics,
        provisional=ProvisionalStore(redis, common),
        bilingual=BilingualStore(redis, common),
        default_threshold=common.match_threshold,
    )
    quarantine = Quarantine(faust_sender(app), topics.quarantine, metrics.quarantined)
    send_alerts = register_agents(
        app, topic(topics.enriched, EnrichedChange), topic(topics.watches, WatchEvent), topic(topics.alerts, Alert),
        stages, quarantine, topics.changes, batch=settings.batch, within_s=settings.batch_within_ms / 1000,
    )  # fmt: skip
    every = settings.commit_ms / 1000
    # the faust agent's group read the changes topic before this lane: its offsets are where the lane starts
    changes = ChangeLane(common, "changes", topics.changes, groups.changes, stages, send_alerts, settings.batch,
                         quarantine, commit_every_s=every, inherit_from=groups.streams)  # fmt: skip
    baseline = ChangeLane(common, "baseline", topics.baselines, groups.baselines, stages, send_alerts,
                          settings.baseline_batch, quarantine, commit_every_s=every,
                          yields_to=(changes, settings.baseline_quiet_batch))  # fmt: skip
    lanes = [changes, baseline]
    for lane in lanes:
        app.task(lane.run_until_cancelled)

    # every worker reads the Redis-wide counters (the gauge's alert takes the max over workers)
    app.timer(interval=float(settings.orphans_every_s))(stages.report_orphans)

    # faust's own sensor (messages, commits, rebalances) on our registry, served at /metrics with ours.
    setup_prometheus_sensors(app, pattern="/metrics", registry=metrics.registry, name_prefix="listwatch_faust")

    @app.page("/healthz")
    async def healthz(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return view.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        try:
            redis_ok = bool(await redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            redis_ok = False
        return view.json({"ready": redis_ok, "checks": {"redis": redis_ok}}, status=200 if redis_ok else 503)

    return StreamsApp(app=app, topics=topics, redis=redis, stages=stages)
