"""Publishes ListChange events to the changes topic with one idempotent aiokafka producer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts.models import ListChange
from contracts.settings import CommonSettings
from contracts.topics import Topics, change_key


class ChangePublisher:
    """Explicit start/stop, like aiokafka's own clients. ``publish`` returns once every event is acked."""

    def __init__(self, settings: CommonSettings, topics: Topics) -> None:
        self._settings = settings
        self._topic = topics.changes
        self._producer: Any = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            compression_type="gzip",
            max_request_size=8 * 1024 * 1024,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, changes: Sequence[ListChange]) -> int:
        if self._producer is None:
            raise RuntimeError("ChangePublisher.publish() before start()")
        futures = [
            await self._producer.send(
                self._topic, value=change.dumps(), key=change_key(change.source, change.entry_key)
            )
            for change in changes
        ]
        await asyncio.gather(*futures)
        return len(futures)
