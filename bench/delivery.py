"""Signed webhook deliveries per second from one alerts process (issue: speed at scale, target 6).

The local Redis (``LISTWATCH_REDIS_URL``, a namespace of its own, removed afterwards), 1,000 subscribers with one
webhook endpoint each on a local receiver that answers 200 at once, and N alerts queued through the
deliverer as the alerts service queues them. The receiver is a process of its own, as a subscriber's server
is (until 2026-11-29 it ran in the deliverer's process and event loop, which took about 45 % of the time
measured as delivery). Measured in the same run:
- ``listwatch``: the deliverer working the queue (``run_due``) until it is empty: deliveries per second;
- ``ceiling``: the same number of POSTs of a same-sized body from one aiohttp session, one at a time and 50 at
  a time, to the same receiver (what the machine and the receiver allow);
- ``signing``: the cost of one Standard Webhooks signature of a typical alert body.
``python -m bench delivery [--quick]``; one JSON object per result in ``bench/results/delivery.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from aiohttp import ClientSession, web

from bench.common import claim_namespace, drop_namespace, run_namespace, save_results


def _receive(conn: Connection) -> None:
    """The receiver process: answers 200 to every POST, counts them (``GET /count``), sends its port first."""

    async def serve() -> None:
        received = 0

        async def hook(request: web.Request) -> web.Response:
            nonlocal received
            await request.read()
            received += 1
            return web.Response(status=200)

        async def count(request: web.Request) -> web.Response:
            return web.Response(text=str(received))

        app = web.Application()
        app.router.add_post("/hook/{n}", hook)
        app.router.add_get("/count", count)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        conn.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
        await runner.cleanup()

    asyncio.run(serve())


async def _received(session: ClientSession, port: int) -> int:
    async with session.get(f"http://127.0.0.1:{port}/count") as r:
        return int(await r.text())


async def run(alerts: int, endpoints: int) -> list[dict[str, object]]:
    from standardwebhooks import Webhook

    from alerts.delivery import Deliverer
    from alerts.metrics import AlertsMetrics
    from alerts.settings import AlertsSettings
    from alerts.sinks.base import Channel
    from alerts.sinks.webhook import WebhookSink
    from alerts.store import AlertStore, Endpoint, now
    from contracts.clients import redis_client
    from contracts.models import Alert, Entry

    parent, child = multiprocessing.get_context("spawn").Pipe()
    receiver = multiprocessing.get_context("spawn").Process(target=_receive, args=(child,), daemon=True)
    receiver.start()
    port = int(parent.recv())
    namespace = run_namespace("delivery")
    settings = AlertsSettings.from_env({
        **os.environ, "LISTWATCH_NAMESPACE": namespace, "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8",
        "LISTWATCH_WEBHOOK_RATE": "100000",
    })  # fmt: skip
    redis = redis_client(settings.common)
    await claim_namespace(redis, settings.common)
    store = AlertStore(redis, settings.common)
    webhook = WebhookSink(settings)
    channels: dict[str, Channel] = {"webhook": webhook}

    async def dead_letter(alert: Alert) -> None:
        return None

    deliverer = Deliverer(settings, store, channels, [], dead_letter, AlertsMetrics())
    results: list[dict[str, object]] = []
    try:
        subs = []
        for i in range(endpoints):
            sub, _ = await store.create_subscriber(f"Bench {i}")
            await store.put_endpoint(sub, Endpoint(id="ep", type="webhook", target=f"http://127.0.0.1:{port}/hook/{i}",
                                                   created_at=now(), secret="whsec_" + "A" * 32))  # fmt: skip
            subs.append(sub)
        stamp = datetime.now(UTC)
        body_alert = None
        for n in range(alerts):
            sub = subs[n % endpoints]
            alert = Alert(
                alert_id=f"a{n:08d}", subscriber_id=sub, watch_id=f"w{n}", watch_name=f"Example {n} Co., Ltd.",
                source="ofac_sdn", entry_key=str(n), entry_name=f"EXAMPLE {n} CO., LTD.", kind="added", before=None,
                after=Entry(key=str(n), name=f"EXAMPLE {n} CO., LTD.", programs=["SDGT"]), fields=[], score=1.0,
                reasons=["name: exact"], change_event_id=f"e{n}", observed_at=stamp, created_at=stamp,
            )  # fmt: skip
            body_alert = body_alert or alert
            await deliverer.accept(alert)
        started, cpu = time.perf_counter(), time.process_time()
        while await store.queue_length() > 0:
            await deliverer.run_due(limit=500)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        async with ClientSession() as session:
            received = await _received(session, port)
        results.append({"benchmark": "delivery", "what": "listwatch deliverer (one process)", "deliveries": alerts,
                        "endpoints": endpoints, "received": received, "seconds": round(seconds, 2),
                        "per_second": round(alerts / seconds), "cpu_us_per_delivery": round(cpu / alerts * 1e6),
                        "target_per_second": 2000,
                        "met": alerts / seconds >= 2000})  # fmt: skip
        body = body_alert.dumps() if body_alert else b"{}"
        for concurrency in (1, 50):
            async with ClientSession() as session:
                sem = asyncio.Semaphore(concurrency)

                async def post(i: int, session: ClientSession = session, sem: asyncio.Semaphore = sem) -> None:
                    async with sem, session.post(f"http://127.0.0.1:{port}/hook/{i % endpoints}", data=body) as r:
                        await r.read()

                started = time.perf_counter()
                await asyncio.gather(*(post(i) for i in range(alerts)))
                took = time.perf_counter() - started
            results.append({"benchmark": "delivery", "what": f"ceiling: raw aiohttp POSTs, {concurrency} at a time",
                            "deliveries": alerts, "seconds": round(took, 2),
                            "per_second": round(alerts / took)})  # fmt: skip
        signer = Webhook("whsec_" + "A" * 32)
        stamp_dt = datetime.now(UTC)
        started = time.perf_counter()
        for i in range(10_000):
            signer.sign(f"msg_{i}", stamp_dt, body.decode())
        per = (time.perf_counter() - started) / 10_000
        results.append({"benchmark": "delivery", "what": "signing one webhook (standardwebhooks)",
                        "body_bytes": len(body), "microseconds": round(per * 1e6, 1)})  # fmt: skip
    finally:
        await webhook.aclose()
        await drop_namespace(redis, settings.common)
        await redis.aclose()
        parent.send("stop")
        receiver.join(10)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench delivery")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    results = asyncio.run(run(500 if args.quick else 5000, 100 if args.quick else 1000))
    for r in results:
        print(json.dumps(r))
    save_results("delivery", results, args.quick)
    return 0
