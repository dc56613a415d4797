"""The whole product on the real stack: the list server publishes a real change about a watched company,
the monitor publishes it to Kafka, a stream worker process matches it, the alerts service delivers a signed
CloudEvent to a webhook receiver that fails first, and an e-mail to a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from standardwebhooks import Webhook

from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.store import AlertStore, Endpoint, now
from contracts.topics import Topics, ensure_topics
from monitor.fetch import Fetcher, RetryPolicy
from monitor.listserver import ListServer
from monitor.metrics import MonitorMetrics
from monitor.publisher import ChangePublisher
from monitor.service import MonitorService, Outcome
from monitor.settings import MonitorSettings
from monitor.sources.ofac_sdn import OfacSdn
from monitor.state import SnapshotStore
from streams.watchlists import WatchEntry, WatchlistStore
from tests.conftest import Receiver, wait_for
from tests.integration.conftest import Worker
from tests.snapshots import materialise


async def test_list_change_to_signed_webhook_and_email(
    worker: Worker, redis: Redis, env: dict[str, str], tmp_path: Path, receiver: tuple[Receiver, str], smtp: Any,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    hook, url = receiver
    mail, smtp_port = smtp
    sequence = ["gitscrape_2021-11-10", "gitscrape_2021-11-12"]
    for snapshot in sequence:
        materialise("ofac_sdn", snapshot, tmp_path / "lists")
    lists = ListServer(tmp_path / "lists", {"ofac_sdn": sequence})
    http = await aiohttp_server(lists.app())
    monitor_settings = MonitorSettings.from_env({
        **env, "LISTWATCH_MONITOR_SOURCES": "ofac_sdn", "LISTWATCH_SOURCE_OFAC_SDN_URL": str(http.make_url("/ofac_sdn/")),
        "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work"),
    })
    alerts_settings = AlertsSettings.from_env({
        **env, "LISTWATCH_API_PORT": "0", "LISTWATCH_METRICS_PORT": "0", "LISTWATCH_ALERTS_CONSOLE": "false",
        "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8", "LISTWATCH_RETRY_SCHEDULE_S": "0,0.2,0.2,0.2,0.2",
        "LISTWATCH_SMTP_HOST": "127.0.0.1", "LISTWATCH_SMTP_PORT": str(smtp_port),
    })
    common = alerts_settings.common
    topics = Topics.for_settings(common)
    await ensure_topics(common, topics)

    # A subscriber watching a company that the next OFAC file adds, with a webhook and an e-mail address.
    store = AlertStore(redis, common)
    sub, _ = await store.create_subscriber("Acme Importers")
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    await store.put_endpoint(sub, Endpoint(id="ep_hook", type="webhook", target=url, created_at=now(), secret=secret))
    await store.put_endpoint(sub, Endpoint(id="ep_mail", type="email", target="kyc@acme.example", created_at=now()))
    await WatchlistStore(redis, common).put(WatchEntry(subscriber_id=sub, id="sup-1", name="Red Sea Trading Corp"))
    hook.statuses.extend([500, 500])  # the receiver is down for the first two attempts

    service = AlertsService(alerts_settings)
    await service.start()
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    fetcher = Fetcher(timeout_s=30, max_bytes=50_000_000, user_agent="test", policy=RetryPolicy(1, 0.05), concurrency=2)
    publisher = ChangePublisher(common, topics)
    await fetcher.start()
    await publisher.start()
    try:
        monitor = MonitorService(monitor_settings, [OfacSdn()], fetcher, SnapshotStore(redis, common, "m1"), publisher,
                                 MonitorMetrics())
        assert await monitor._store.acquire("ofac_sdn", 30)
        assert await monitor.check("ofac_sdn") is Outcome.CHANGED  # the baseline: not listed yet
        lists.advance("ofac_sdn")
        assert await monitor.check("ofac_sdn") is Outcome.CHANGED  # 2021-11-12 adds RED SEA TRADING CORPORATION
        delivered = await wait_for(lambda: [r for r in hook.requests], within=120)
        await wait_for(lambda: len(hook.requests) >= 3 and mail.messages, within=60)
        await asyncio.sleep(1.5)  # room for a wrong extra delivery
    finally:
        stop.set()
        await running
        await service.stop()
        await publisher.stop()
        await fetcher.stop()
    assert delivered
    assert worker.alive()
    webhook_ids = {h["webhook-id"] for h, _ in hook.requests}
    assert len(webhook_ids) == 1, webhook_ids  # one alert, the same id on each of its three attempts
    assert len(hook.requests) == 3
    headers, body = hook.requests[-1]
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "io.listwatch.entry.added"
    assert (event["data"]["entry_key"], event["data"]["watch_id"]) == ("33918", "sup-1")
    assert orjson.loads(body)["data"]["entry_name"] == "RED SEA TRADING CORPORATION"
    [message] = mail.messages
    assert message["To"] == "kyc@acme.example"
    assert "Red Sea Trading Corp" in message["Subject"]
