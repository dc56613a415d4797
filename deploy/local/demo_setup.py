"""Registers the demo subscriber through the real API: watchlist import, a webhook endpoint pointing at the
local receiver, an e-mail-free setup. Prints shell assignments for demo.sh.

Usage: demo_setup.py API_URL ADMIN_TOKEN WATCHLIST_CSV RECEIVER_URL
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import aiohttp


async def main(api: str, admin: str, watchlist: str, receiver: str) -> None:
    csv = Path(watchlist).read_bytes()  # noqa: ASYNC240 - one small file before any I/O starts
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        for _ in range(100):  # the API may still be starting
            try:
                async with http.get(f"{api}/v1/openapi.json"):
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
        async with http.post(f"{api}/v1/subscribers", json={"name": "Demo Importer Ltd"},
                             headers={"Authorization": f"Bearer {admin}"}) as resp:  # fmt: skip
            sub = await resp.json()
        auth = {"Authorization": f"Bearer {sub['api_key']}"}
        async with http.post(f"{api}/v1/watchlist/import", data=csv, headers=auth) as resp:
            report = await resp.json()
        hook = {"type": "webhook", "url": receiver, "description": "demo receiver"}
        async with http.post(f"{api}/v1/endpoints", json=hook, headers=auth) as resp:
            endpoint = await resp.json()
    print(f"DEMO_SUBSCRIBER={shlex.quote(sub['id'])}")
    print(f"DEMO_API_KEY={shlex.quote(sub['api_key'])}")
    print(f"DEMO_WEBHOOK_SECRET={shlex.quote(endpoint['secret'])}")
    print(f"DEMO_IMPORTED={report['imported']}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
