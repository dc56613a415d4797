"""Fixtures for the alerts package: a real Redis, the API app on an aiohttp test server, a webhook
receiver on another, and a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from alerts.api import Deps, build_api
from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.sinks import channels as build_channels
from alerts.sinks.base import Channel
from alerts.store import AlertStore
from alerts.web import mount_pages
from contracts.models import Alert, WatchEvent
from streams.list_state import ListStateStore
from streams.watchlists import WatchlistStore

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture
def alerts_env(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "LISTWATCH_ADMIN_TOKEN": ADMIN,
        "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8",
        "LISTWATCH_RETRY_SCHEDULE_S": "0,0.05,0.05,0.05",
        "LISTWATCH_API_PORT": "0",
        "LISTWATCH_METRICS_PORT": "0",
    }


@dataclass
class Stack:
    settings: AlertsSettings
    store: AlertStore
    watches: WatchlistStore
    lists: ListStateStore
    deliverer: Deliverer
    dead: list[Alert]
    watch_events: list[WatchEvent]
    client: TestClient
    channels: dict[str, Channel]

    async def admin(self, name: str) -> tuple[str, dict[str, str]]:
        resp = await self.client.post("/v1/subscribers", json={"name": name}, headers=auth(ADMIN))
        assert resp.status == 201, await resp.text()
        body = await resp.json()
        return body["id"], auth(body["api_key"])

    async def drain(self, rounds: int = 200) -> None:
        """Run due deliveries until the queue is empty (bounded)."""
        for _ in range(rounds):
            await self.deliverer.flush_digests()
            if await self.store.queue_length() == 0:
                return
            await self.deliverer.run_due()
            await asyncio.sleep(0.02)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def stack(
    redis: Redis, alerts_env: dict[str, str], smtp: Any, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> AsyncIterator[Stack]:
    _, port = smtp
    settings = AlertsSettings.from_env({**alerts_env, "LISTWATCH_SMTP_HOST": "127.0.0.1",
                                        "LISTWATCH_SMTP_PORT": str(port)})  # fmt: skip
    store = AlertStore(redis, settings.common)
    dead: list[Alert] = []
    events: list[WatchEvent] = []

    async def dead_letter(alert: Alert) -> None:
        dead.append(alert)

    async def publish(batch: list[WatchEvent]) -> None:
        events.extend(batch)

    channels = build_channels(settings)
    try:
        deliverer = Deliverer(settings, store, channels, [], dead_letter, AlertsMetrics())
        watches, lists = WatchlistStore(redis, settings.common), ListStateStore(redis, settings.common)
        deps = Deps(settings=settings, store=store, watches=watches, lists=lists, deliverer=deliverer,
                    channels=channels, publish_watch_events=publish)  # fmt: skip
        app = build_api(deps)
        mount_pages(app, deps)
        client = await aiohttp_client(app)
        yield Stack(settings, store, watches, lists, deliverer, dead, events, client, channels)
    finally:
        for sink in channels.values():
            await sink.aclose()
