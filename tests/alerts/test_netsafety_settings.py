from __future__ import annotations

import ipaddress

import pytest
from aiohttp.test_utils import TestClient

from alerts.netsafety import UnsafeUrl, check_url
from alerts.settings import AlertsSettings, Secret
from monitor.metrics import MonitorMetrics
from streams.ops import ops_app
from streams.settings import SettingsError


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x", "http://10.0.0.5/x", "http://192.168.1.1/x", "http://172.16.0.1/x",
     "http://169.254.169.254/x", "http://[::1]/x", "http://[fe80::1]/x", "http://0.0.0.0/x", "http://localhost/x"],
)  # fmt: skip
async def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_url(url, ())


async def test_public_literal_and_allowed_networks_pass() -> None:
    await check_url("https://93.184.216.34/hook", ())
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
    assert str(settings.admin_token) == "a" * 20
    assert repr(Secret("x")) == "Secret('**********')"


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
