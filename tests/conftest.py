"""Fixtures strategy.

Tests that need Kafka or Redis use the real servers that ``make test`` starts (deploy/local/stack.sh).
Each test gets its own namespace (``LISTWATCH_NAMESPACE``), which prefixes every topic, consumer group and
Redis key, so tests never see each other's data and need no cleanup between them; Redis keys of a test's
namespace are still deleted afterwards, and its Kafka topics at the end of the session, to keep the
developer's servers small (thousands of topics left behind slowed the local broker's start to minutes).
When a server is unreachable the test fails under CI (``CI=true``) and is skipped elsewhere, with the
command that starts it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from redis.asyncio import Redis

from contracts.clients import hiredis_packing
from contracts.settings import CommonSettings
from contracts.topics import Topics, drop_topics
from tests.servers import free_port

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


@pytest.fixture(scope="session")
def namespaces() -> Iterator[set[str]]:
    """Every namespace the session's tests were given: their topics are deleted once the session ends (in one
    go: a deletion per test would cost each test a round trip to the controller)."""
    made: set[str] = set()
    yield made
    bootstrap = BASE_ENV["LISTWATCH_KAFKA_BOOTSTRAP"]
    if made and _reachable(bootstrap.split(",")[0]):
        asyncio.run(drop_topics(CommonSettings.from_env(BASE_ENV), made))


@pytest.fixture
def env(namespaces: set[str]) -> dict[str, str]:
    """A fresh environment mapping with a namespace unique to this test."""
    namespace = f"t-{uuid.uuid4().hex[:12]}"
    namespaces.add(namespace)
    return {**BASE_ENV, "LISTWATCH_NAMESPACE": namespace}


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
    client = hiredis_packing(Redis.from_url(settings.redis_url))  # packed as the services' clients pack
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


# -- receivers: a webhook receiver and a real SMTP server, both on loopback ------------------------------


@dataclass
class Receiver:
    """A webhook receiver: answers with the queued statuses first, then 200; records every request."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, headers={"Retry-After": "0"} if status == 429 else {})


@dataclass
class Smtp:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> tuple[Receiver, str]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    server = await aiohttp_server(app)
    return r, str(server.make_url("/hook"))


@pytest.fixture
def smtp() -> Any:
    handler = Smtp()
    # a free port of its own: aiosmtpd checks readiness by connecting to it
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


