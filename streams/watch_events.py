"""Publishing WatchEvents, so that the stream workers screen new or changed watch entries at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from contracts.clients import producer, send_all
from contracts.models import WatchEvent
from contracts.settings import CommonSettings
from contracts.topics import Topics, alert_key, ensure_topics


def watch_event(subscriber_id: str, watch_id: str, action: str = "put") -> WatchEvent:
    return WatchEvent(subscriber_id=subscriber_id, watch_id=watch_id, action=action, at=datetime.now(UTC))


async def publish_watch_events(settings: CommonSettings, events: Sequence[WatchEvent]) -> None:
    topics = Topics.for_settings(settings)
    await ensure_topics(settings, topics)
    kafka = producer(settings)
    await kafka.start()
    try:
        await send_all(kafka, topics.watches, [(alert_key(e.subscriber_id), e.dumps()) for e in events])
    finally:
        await kafka.stop()
