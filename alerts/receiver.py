"""A webhook receiver for trying listwatch out: verifies each Standard Webhooks signature and prints the
CloudEvent (``listwatch receiver --secret whsec_… --port 8701``). Duplicates (same webhook-id) are
reported as such, which is what a real receiver should do with them."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


def receiver_app(secret: str, out: Any = None) -> web.Application:
    verifier = Webhook(secret)
    seen: set[str] = set()
    stream = out or sys.stdout

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            event = verifier.verify(body, headers)
        except WebhookVerificationError as exc:
            print(f"WEBHOOK REJECTED: bad signature ({exc})", file=stream, flush=True)
            return web.json_response({"error": "bad signature"}, status=401)
        events = event if isinstance(event, list) else [event]
        duplicate = headers.get("webhook-id", "") in seen
        seen.add(headers.get("webhook-id", ""))
        for e in events:
            data = e.get("data", {})
            print(f"WEBHOOK {'DUPLICATE ' if duplicate else ''}{e['type']} id={e['id'][:12]} "
                  f"watch={data.get('watch_id')} entry={data.get('source')}:{data.get('entry_key')} "
                  f"{data.get('entry_name')!r} signature ok", file=stream, flush=True)  # fmt: skip
        return web.json_response({"received": len(events)})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    return app


async def serve(secret: str, host: str, port: int) -> None:
    runner = web.AppRunner(receiver_app(secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"webhook receiver on http://{host}:{port}/", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
