"""Fixtures strategy.

Tests that need Kafka or Redis use the real servers that ``make test`` starts (deploy/local/stack.sh).
Each test gets its own namespace (``LISTWATCH_NAMESPACE``), which prefixes every topic, consumer group and
Redis key, so tests never see each other's data and need no cleanup between them; Redis keys of a test's
namespace are still deleted afterwards to keep the developer's Redis small.
When a server is unreachable the test fails under CI (``CI=true``) and is skipped elsewhere, with the
command that starts it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from streams.settings import CommonSettings
from streams.topics import Topics

# The same defaults as deploy/local/env.sh, so that LISTWATCH_KAFKA_PORT / _REDIS_PORT move both.
BASE_ENV = {
    "LISTWATCH_KAFKA_BOOTSTRAP": os.environ.get("LISTWATCH_KAFKA_BOOTSTRAP")
    or f"127.0.0.1:{os.environ.get('LISTWATCH_KAFKA_PORT', '19092')}",
    "LISTWATCH_REDIS_URL": os.environ.get("LISTWATCH_REDIS_URL")
    or f"redis://127.0.0.1:{os.environ.get('LISTWATCH_REDIS_PORT', '16379')}/0",
}


def _reachable(host_port: str) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host_port: str) -> None:
    if _reachable(host_port):
        return
    message = f"{name} is not reachable at {host_port}; start it with `make up`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def env() -> dict[str, str]:
    """A fresh environment mapping with a namespace unique to this test."""
    return {**BASE_ENV, "LISTWATCH_NAMESPACE": f"t-{uuid.uuid4().hex[:12]}"}


@pytest.fixture
def settings(env: dict[str, str]) -> CommonSettings:
    return CommonSettings.from_env(env)


@pytest.fixture
def topics(settings: CommonSettings) -> Topics:
    return Topics.for_settings(settings)


@pytest.fixture
def kafka(settings: CommonSettings) -> str:
    """The bootstrap address of the real broker (fails in CI, skips elsewhere, when it is down)."""
    require_service("Kafka", settings.kafka_bootstrap.split(",")[0])
    return settings.kafka_bootstrap


@pytest.fixture
async def redis(settings: CommonSettings) -> AsyncIterator[Redis]:
    url = settings.redis_url.removeprefix("redis://").split("/")[0]
    require_service("Redis", url)
    client = Redis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(match=f"{settings.namespace}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def wait_for(predicate, within: float = 60.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll an async or sync predicate until it returns a truthy value or ``within`` seconds pass."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {within}s")
        await asyncio.sleep(interval)
