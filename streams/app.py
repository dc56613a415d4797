"""The faust application: built by a factory from settings, never a module global."""

from __future__ import annotations

from dataclasses import dataclass

import faust
from redis.asyncio import Redis

from streams.match.agents import register_match_agent
from streams.models import Alert, ListChange
from streams.settings import StreamsSettings
from streams.topics import Topics
from streams.watchlists import WatchlistStore


@dataclass(frozen=True, slots=True)
class StreamsApp:
    app: faust.App
    topics: Topics
    redis: Redis


def build_app(settings: StreamsSettings) -> StreamsApp:
    common = settings.common
    topics = Topics.for_settings(common)
    app = faust.App(
        f"{common.namespace}.streams",
        broker=f"kafka://{common.kafka_bootstrap.split(',')[0]}",
        store="memory://",
        topic_partitions=common.kafka_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_host="127.0.0.1",
        web_bind="127.0.0.1",
    )
    changes = app.topic(
        topics.changes,
        key_type=bytes,
        value_type=ListChange,
        key_serializer="raw",
        partitions=common.kafka_partitions,
    )
    alerts = app.topic(
        topics.alerts,
        key_type=bytes,
        value_type=Alert,
        key_serializer="raw",
        partitions=common.kafka_partitions,
    )
    redis = Redis.from_url(common.redis_url)
    register_match_agent(app, changes, alerts, WatchlistStore(redis, common))
    return StreamsApp(app=app, topics=topics, redis=redis)
