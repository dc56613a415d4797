"""The delivery service: consumes the alerts topic and hands each alert to every sink.

Offsets are committed only after every sink accepted the alert, so a crash re-delivers rather than loses
(at-least-once; receivers deduplicate by alert id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer

from alerts.settings import AlertsSettings
from alerts.sinks.base import Sink
from streams.models import Alert
from streams.topics import Topics, ensure_topics

log = logging.getLogger(__name__)


class DeliveryService:
    def __init__(self, settings: AlertsSettings, sinks: Sequence[Sink]) -> None:
        self._settings = settings
        self._sinks = list(sinks)
        self._topics = Topics.for_settings(settings.common)
        self._consumer: Any = None
        self.delivered = 0

    async def start(self) -> None:
        await ensure_topics(self._settings.common, self._topics)
        consumer = AIOKafkaConsumer(
            self._topics.alerts,
            bootstrap_servers=self._settings.common.kafka_bootstrap,
            group_id=f"{self._settings.common.namespace}.alerts-delivery",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        for sink in self._sinks:
            await sink.aclose()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set."""
        if self._consumer is None:
            raise RuntimeError("DeliveryService.run() before start()")
        stop = stop or asyncio.Event()
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=100)
            for records in batches.values():
                for record in records:
                    alert = Alert.loads(record.value)
                    for sink in self._sinks:
                        await sink.send(alert)
                    self.delivered += 1
            if batches:
                await self._consumer.commit()
