"""Schemathesis over /v1/openapi.json against the API served on a real port (a thread with its own event
loop) and the real Redis: for every operation, generated valid and invalid requests get no 5xx, responses
conform to the document, invalid input is refused. A bounded budget per operation keeps it to about a
minute; ``LISTWATCH_SCHEMATHESIS_EXAMPLES`` raises it for a deeper run."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from alerts.api import Deps, build_api
from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.sinks import channels as build_channels
from alerts.store import AlertStore
from contracts.clients import redis_client
from contracts.models import Alert, WatchEvent
from streams.list_state import ListStateStore
from streams.watchlists import WatchlistStore
from tests.alerts.conftest import ADMIN
from tests.conftest import BASE_ENV, require_service
from tests.servers import free_port

EXAMPLES = int(os.environ.get("LISTWATCH_SCHEMATHESIS_EXAMPLES", "25"))


@dataclass
class Served:
    base_url: str
    key: str
    namespace: str


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    require_service("Redis", BASE_ENV["LISTWATCH_REDIS_URL"].removeprefix("redis://").split("/")[0])
    namespace = f"t-{uuid.uuid4().hex[:12]}"
    port = free_port()
    settings_ = AlertsSettings.from_env({
        **BASE_ENV, "LISTWATCH_NAMESPACE": namespace, "LISTWATCH_ADMIN_TOKEN": ADMIN,
        "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8", "LISTWATCH_AUTH_FAILURES_PER_MIN": "1000000",
    })  # fmt: skip
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def start() -> None:
        redis = redis_client(settings_.common)
        store = AlertStore(redis, settings_.common)
        channels = build_channels(settings_)

        async def nothing(_: list[WatchEvent] | Alert) -> None:
            return None

        deliverer = Deliverer(settings_, store, channels, [], nothing, AlertsMetrics())  # type: ignore[arg-type]
        deps = Deps(settings=settings_, store=store, watches=WatchlistStore(redis, settings_.common),
                    lists=ListStateStore(redis, settings_.common), deliverer=deliverer, channels=channels,
                    publish_watch_events=nothing)  # type: ignore[arg-type]  # fmt: skip
        runner = web.AppRunner(build_api(deps), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        _, key = await store.create_subscriber("Schemathesis Co")
        state.update(runner=runner, redis=redis, key=key, channels=channels)

    async def stop() -> None:
        await state["runner"].cleanup()
        for channel in state["channels"].values():
            await channel.aclose()
        keys = [k async for k in state["redis"].scan_iter(match=f"{namespace}:*", count=1000)]
        if keys:
            await state["redis"].delete(*keys)
        await state["redis"].aclose()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(stop())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "the API did not start"
    try:
        yield Served(f"http://127.0.0.1:{port}", state["key"], namespace)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def _operations(served: Served) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{served.base_url}/v1/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


# Driven through hypothesis directly: schemathesis's pytest plugin does not run under pytest 9 yet.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_and_never_fails_on_input(served: Served, mode: GenerationMode) -> None:
    from schemathesis.checks import positive_data_acceptance

    operations = _operations(served)
    assert len(operations) >= 30
    failures: list[str] = []
    for operation in operations:
        token = ADMIN if operation.path.startswith("/v1/subscribers") else served.key

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)  # fmt: skip
        def check(case: Any) -> None:
            # Valid data may still be refused for what a schema cannot say (a USCC checksum, an unknown id,
            # an existing entry), so positive acceptance is not demanded; every other check is.
            case.call_and_validate(base_url=served.base_url, headers={"Authorization": f"Bearer {token}"},  # noqa: B023
                                   excluded_checks=[positive_data_acceptance])  # fmt: skip

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
