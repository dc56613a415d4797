"""Removes earlier demos' namespaces from the local stack: their Redis keys and Kafka topics. Each `make demo`
runs in a namespace of its own (``demo-<seconds>``) and left it behind; measured on 2026-12-02, a
development Redis held 614,000 keys (200 MB) of old demos and killed benchmark runs, and each background
save of them took a core for seconds. demo.sh runs this before a demo starts (no demo is running then).

Usage: demo_drop.py PREFIX KEEP (namespaces named PREFIX followed by digits, all but KEEP)
"""

from __future__ import annotations

import asyncio
import os
import re
import sys

from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from contracts.settings import CommonSettings
from contracts.topics import drop_topics


async def drop_demos(settings: CommonSettings, prefix: str, keep: str) -> set[str]:
    """Every namespace named ``prefix`` and digits but ``keep``, found by its Redis keys or its topics, with
    both removed; returns their names."""
    named = re.compile(re.escape(prefix) + r"\d+")
    redis = Redis.from_url(settings.redis_url)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        found = {key.split(b":", 1)[0].decode() async for key in redis.scan_iter(match=f"{prefix}*", count=1000)}
        await admin.start()
        found |= {name.split(".", 1)[0] for name in await admin.list_topics()}
        gone = {ns for ns in found if named.fullmatch(ns) and ns != keep}
        for ns in sorted(gone):
            keys = [k async for k in redis.scan_iter(match=f"{ns}:*", count=1000)]
            for start in range(0, len(keys), 500):
                await redis.unlink(*keys[start : start + 500])
    finally:
        await admin.close()
        await redis.aclose()
    await drop_topics(settings, gone)
    return gone


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    gone = asyncio.run(drop_demos(CommonSettings.from_env(os.environ), argv[0], argv[1]))
    if gone:
        print(f"removed {len(gone)} earlier demo namespace(s) from the local Redis and Kafka")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
