from __future__ import annotations

import ipaddress

import pytest
from aiohttp.test_utils import TestClient

from alerts.netsafety import UnsafeUrl, check_url
from alerts.settings import AlertsSettings, Secret
from contracts.ops import ops_app
from contracts.settings import SettingsError
from monitor.metrics import MonitorMetrics


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x", "http://10.0.0.5/x", "http://192.168.1.1/x", "http://172.16.0.1/x",
     "http://169.254.169.254/x", "http://[::1]/x", "http://[fe80::1]/x", "http://0.0.0.0/x", "http://localhost/x",
     # IPv6 forms that carry a private IPv4 address: NAT64, its local-use prefix, mapped, compatible, 6to4, Teredo
     "http://[64:ff9b::7f00:1]/x", "http://[64:ff9b::a9fe:a9fe]/x", "http://[64:ff9b:1::5db8:d822]/x",
     "http://[::ffff:127.0.0.1]/x", "http://[::127.0.0.1]/x", "http://[2002:7f00:1::]/x",
     "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x"],
)  # fmt: skip
async def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_url(url, ())


async def test_public_literal_and_allowed_networks_pass() -> None:
    await check_url("https://93.184.216.34/hook", ())
    await check_url("https://[64:ff9b::5db8:d822]/hook", ())  # NAT64 of a public address
    await check_url("http://127.0.0.1:8701/hook", (ipaddress.ip_network("127.0.0.0/8"),))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LISTWATCH_ADMIN_TOKEN": "short"}, "ADMIN_TOKEN"),
        ({"LISTWATCH_RETRY_SCHEDULE_S": "1,x"}, "RETRY_SCHEDULE_S"),
        ({"LISTWATCH_RETRY_SCHEDULE_S": "-1"}, "RETRY_SCHEDULE_S"),
        ({"LISTWATCH_WEBHOOK_ALLOW": "not-a-net"}, "WEBHOOK_ALLOW"),
        ({"LISTWATCH_SMTP_SECURITY": "ssl3"}, "SMTP_SECURITY"),
        ({"LISTWATCH_API_PORT": "eighty"}, "API_PORT"),
        ({"LISTWATCH_NAMESPACE": "Bad Namespace"}, "NAMESPACE"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        AlertsSettings.from_env(env)


def test_secrets_never_show() -> None:
    settings = AlertsSettings.from_env({"LISTWATCH_ADMIN_TOKEN": "a" * 20, "LISTWATCH_SMTP_PASSWORD": "hunter2hunter2"})
    assert "aaaa" not in repr(settings)
    assert "hunter2" not in repr(settings)
    assert settings.admin_token is not None
    assert settings.admin_token.reveal() == "a" * 20
    assert repr(Secret("x")) == "Secret('**********')"
    assert str(Secret("x")) == f"{Secret('x')}" == "**********"  # logs and f-strings show stars too


async def test_ops_endpoints_answer(aiohttp_client: object) -> None:
    metrics = MonitorMetrics()
    metrics.fetches.labels("ofac_sdn", "changed").inc()

    async def ready() -> dict[str, bool]:
        return {"redis": False}

    client: TestClient = await aiohttp_client(ops_app(metrics.registry, ready))  # type: ignore[operator]
    body = await (await client.get("/metrics")).text()
    for family in ("listwatch_fetch_duration_seconds", "listwatch_fetches_total", "listwatch_source_entries",
                   "listwatch_snapshot_rejections_total", "listwatch_source_last_success_timestamp_seconds"):  # fmt: skip
        assert f"# TYPE {family.removesuffix('_total')}" in body, family
    assert (await client.get("/healthz")).status == 200
    not_ready = await client.get("/readyz")
    assert not_ready.status == 503
    assert (await not_ready.json())["checks"] == {"redis": False}


async def test_the_webhook_connection_resolves_only_to_allowed_addresses() -> None:
    """The pin: even a name that passed a check cannot connect to a loopback answer later."""
    from alerts.netsafety import GuardedResolver

    guarded = GuardedResolver(())
    try:
        with pytest.raises(OSError, match="not an allowed address"):
            await guarded.resolve("localhost", 80)
    finally:
        await guarded.close()
    allowed = GuardedResolver((ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")))
    try:
        assert {r["host"] for r in await allowed.resolve("localhost", 80)} <= {"127.0.0.1", "::1"}
    finally:
        await allowed.close()
