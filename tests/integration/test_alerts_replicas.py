"""Two alerts services as two processes (`python -m alerts`, as deploy/k8s runs two replicas) on one Redis and
one Kafka: they share the alerts topic and race on the one delivery queue, and every alert reaches the receiver
exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from alerts.store import AlertStore, Endpoint, now
from contracts.clients import producer, send_all
from contracts.settings import CommonSettings
from contracts.topics import Topics, alert_key, ensure_topics
from tests.alerts.test_delivery import alerts_for
from tests.conftest import Receiver, wait_for


def _start(n: int, env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    with (tmp_path / f"alerts-{n}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "alerts"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip


async def test_two_alerts_processes_deliver_each_alert_once(
    kafka: str, redis: Redis, env: dict[str, str], settings: CommonSettings, topics: Topics, tmp_path: Path,
    receiver: tuple[Receiver, str],
) -> None:  # fmt: skip
    hook, url = receiver
    await ensure_topics(settings, topics)
    store = AlertStore(redis, settings)
    subs = []
    for n in range(4):  # four subscribers: their alerts land on different partitions, so both consume
        sub, _ = await store.create_subscriber(f"Acme {n}")
        await store.put_endpoint(sub, Endpoint(id=f"ep_{n}", type="webhook", target=url, created_at=now(),
                                               secret="whsec_" + "A" * 32))  # fmt: skip
        subs.append(sub)
    proc_env = {**os.environ, **env, "LISTWATCH_API_PORT": "0", "LISTWATCH_METRICS_PORT": "0",
                "LISTWATCH_ALERTS_CONSOLE": "false", "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8",
                "LISTWATCH_WEBHOOK_RATE": "1000"}  # fmt: skip
    procs = [_start(n, proc_env, tmp_path) for n in range(2)]
    alerts = [a for sub in subs for a in alerts_for(sub, 60)]
    kafka_producer = producer(settings)
    await kafka_producer.start()
    try:
        await asyncio.sleep(3)  # both join the consumer group
        await send_all(kafka_producer, topics.alerts, [(alert_key(a.subscriber_id), a.dumps()) for a in alerts])
        await wait_for(lambda: len(hook.requests) >= len(alerts), within=120)
        await asyncio.sleep(3)  # room for a second delivery of any of them
        assert all(p.poll() is None for p in procs), "an alerts process died"
    finally:
        await kafka_producer.stop()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
    seen = Counter(h["webhook-id"] for h, _ in hook.requests)
    assert seen == Counter({a.alert_id: 1 for a in alerts})
    logs = [(tmp_path / f"alerts-{n}.log").read_text() for n in range(2)]
    assert all("Traceback" not in text for text in logs)
