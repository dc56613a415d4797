"""Publishes ListChange events with one idempotent aiokafka producer: to the changes topic, or a baseline's
to the baselines topic (its own lane in the stream workers)."""

from __future__ import annotations

from collections.abc import Sequence

from contracts import codec
from contracts.clients import TRANSIENT, Producer, producer, send_all
from contracts.models import ListChange
from contracts.settings import CommonSettings
from contracts.topics import Topics, change_key


class ChangePublisher:
    """Explicit start/stop, like aiokafka's own clients. ``publish`` returns once every event is acked."""

    def __init__(self, settings: CommonSettings, topics: Topics) -> None:
        self._settings = settings
        self._topics = topics
        self._producer: Producer | None = None
        # False after a publish failed until one succeeds: the monitor's readiness reports it.
        self.healthy = True

    async def start(self) -> None:
        # zstd (cramjam): gzip at aiokafka's level 9 cost the publisher more than the rest of its send, and
        # every stream worker its decompression.
        kafka = producer(self._settings, compression_type="zstd", max_request_size=8 * 1024 * 1024)
        await kafka.start()
        self._producer = kafka

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, changes: Sequence[ListChange]) -> int:
        if self._producer is None:
            raise RuntimeError("ChangePublisher.publish() before start()")
        lanes: dict[str, list[tuple[bytes, bytes]]] = {}
        for c in changes:
            # contracts.codec: faust's JSON without its type tags, which the lanes and faust read alike
            record = (change_key(c.source, c.entry_key), codec.dumps(c))
            lanes.setdefault(self._topics.for_change(c.baseline), []).append(record)
        try:
            sent = sum([await send_all(self._producer, topic, records) for topic, records in lanes.items()])
        except TRANSIENT:
            self.healthy = False
            raise
        self.healthy = True
        return sent
