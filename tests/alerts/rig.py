"""A deliverer on its own Redis client with one webhook endpoint and queued alerts: what the fault tests
(Redis killed, Sentinel failover) deliver through while they break things."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.sinks.base import Channel
from alerts.sinks.webhook import WebhookSink
from alerts.store import AlertStore, Endpoint, now
from contracts.clients import TRANSIENT, redis_client
from contracts.models import Alert
from tests.alerts.test_delivery import alerts_for

FAST_RETRIES = {"LISTWATCH_WEBHOOK_RATE": "1000", "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8",
                "LISTWATCH_RETRY_SCHEDULE_S": "0,0.2,0.5,1,1,1,1,1"}  # fmt: skip


@dataclass
class Rig:
    settings: AlertsSettings
    store: AlertStore
    deliverer: Deliverer
    webhook: WebhookSink
    alerts: list[Alert]
    dead: list[Alert] = field(default_factory=list)

    async def queue_left(self) -> int:
        """The queue length, or 1 while Redis is down (so a delivery loop keeps going)."""
        try:
            return await self.store.queue_length()
        except TRANSIENT:
            await asyncio.sleep(0.2)
            return 1

    async def deliver_all(self, limit: int = 25) -> None:
        """Run due deliveries until the queue is empty, riding out outages."""
        while await self.queue_left():
            try:
                if not await self.deliverer.run_due(limit=limit):
                    await asyncio.sleep(0.05)
            except TRANSIENT:
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self.webhook.aclose()
        await self.store.redis.aclose()


async def rig(env: dict[str, str], receiver_url: str, n: int = 60, extra: dict[str, str] | None = None) -> Rig:
    settings = AlertsSettings.from_env({**env, **FAST_RETRIES, **(extra or {})})
    store = AlertStore(redis_client(settings.common), settings.common)
    webhook = WebhookSink(settings)
    channels: dict[str, Channel] = {"webhook": webhook}
    made = Rig(settings, store, None, webhook, [])  # type: ignore[arg-type]

    async def dead_letter(alert: Alert) -> None:
        made.dead.append(alert)

    made.deliverer = Deliverer(settings, store, channels, [], dead_letter, AlertsMetrics())
    sub, _ = await store.create_subscriber("Acme")
    await store.put_endpoint(sub, Endpoint(id="ep_1", type="webhook", target=receiver_url, created_at=now(),
                                           secret="whsec_" + "A" * 32))  # fmt: skip
    made.alerts = alerts_for(sub, n)
    for alert in made.alerts:
        await made.deliverer.accept(alert)
    return made
