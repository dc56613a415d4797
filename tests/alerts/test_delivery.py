"""Delivery on a real Redis to a real webhook receiver and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook

from alerts.store import Endpoint, material_hash, now
from contracts.models import Alert, ChangeKind
from streams.enrich.change import enrich
from streams.match.logic import confirm, match_change
from streams.watchlists import WatchEntry
from tests.alerts.conftest import Stack
from tests.conftest import Receiver
from tests.factories import change, entry


def alerts_for(
    sub: str, n: int, start: int = 0, kind: ChangeKind = ChangeKind.ADDED, programs: list[str] | None = None
) -> list[Alert]:
    out = []
    for i in range(start, start + n):
        after = entry(key=str(5000 + i), name=f"OMEGAVOLT {i} INDUSTRIES", programs=programs or ["SDGT"])
        c = change(kind, before=after if kind is not ChangeKind.ADDED else None, after=after)
        watch = WatchEntry(subscriber_id=sub, id=f"w{i}", name=f"Omegavolt {i} Industries")
        [alert] = match_change(enrich(c), [watch], {sub: 0.88}, datetime.now(UTC))
        out.append(alert)
    return out


async def webhook(stack: Stack, key: dict[str, str], url: str) -> dict[str, Any]:
    resp = await stack.client.post("/v1/endpoints", json={"type": "webhook", "url": url}, headers=key)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_signed_cloudevent_retried_through_500s_delivered_once(
    stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    endpoint = await webhook(stack, key, url)
    r.statuses.extend([500, 503])
    [alert] = alerts_for(sub, 1)
    await stack.deliverer.accept(alert)
    await stack.deliverer.accept(alert)  # a redelivery from Kafka: nothing more is queued
    await stack.drain()
    assert len(r.requests) == 3
    ids = {h["webhook-id"] for h, _ in r.requests}
    assert ids == {alert.alert_id}  # the same webhook-id on every attempt
    headers, body = r.requests[-1]
    event = Webhook(endpoint["secret"]).verify(body, headers)  # raises when the signature is wrong
    assert event["specversion"] == "1.0"
    assert event["type"] == "io.listwatch.entry.added"
    assert event["id"] == alert.alert_id
    assert event["data"]["watch_id"] == "w0"
    assert headers["content-type"] == "application/cloudevents+json"
    deliveries = await (await stack.client.get(f"/v1/alerts/{alert.alert_id}/deliveries", headers=key)).json()
    [d] = deliveries["items"]
    assert d["status"] == "delivered"
    assert [a["outcome"] for a in d["attempts"]] == ["failed", "failed", "delivered"]
    assert [a["status"] for a in d["attempts"]] == [500, 503, None]


async def test_a_failing_endpoint_never_holds_back_another_subscribers_endpoint_of_the_same_id(
    stack: Stack, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> None:
    # Endpoint ids are each subscriber's own: two subscribers' "ep" are two endpoints, two lanes.
    got: dict[str, int] = {"a": 0, "b": 0}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        got[request.match_info["name"]] += 1
        return web.Response(status=500 if request.match_info["name"] == "a" else 200)

    app = web.Application()
    app.router.add_post("/hook/{name}", hook)
    server = await aiohttp_server(app)
    for name in ("a", "b"):  # a's delivery is queued first
        sub, _ = await stack.admin(f"Subscriber {name}")
        target = str(server.make_url(f"/hook/{name}"))
        await stack.store.put_endpoint(sub, Endpoint(id="ep", type="webhook", target=target, created_at=now(),
                                                     secret="whsec_" + "A" * 32))  # fmt: skip
        [alert] = alerts_for(sub, 1)
        await stack.deliverer.accept(alert)
    assert await stack.deliverer.run_due() == 2
    assert got == {"a": 1, "b": 1}  # b's delivery went out in the same round, not behind a's retry


async def test_gone_disables_the_endpoint(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    endpoint = await webhook(stack, key, url)
    r.statuses.append(410)
    for alert in alerts_for(sub, 2):
        await stack.deliverer.accept(alert)
    await stack.drain()
    assert len(r.requests) == 1  # the second delivery is dropped once the endpoint is disabled
    state = await (await stack.client.get(f"/v1/endpoints/{endpoint['id']}", headers=key)).json()
    assert state["enabled"] is False
    assert "410" in state["disabled_reason"]


async def test_dead_letter_after_the_last_attempt_and_replay(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    r.statuses.extend([500] * len(stack.settings.retry_schedule))
    [alert] = alerts_for(sub, 1)
    await stack.deliverer.accept(alert)
    await stack.drain()
    assert len(r.requests) == len(stack.settings.retry_schedule)
    assert [a.alert_id for a in stack.dead] == [alert.alert_id]
    dead = await (await stack.client.get("/v1/dead-letters", headers=key)).json()
    assert [d["alert_id"] for d in dead["items"]] == [alert.alert_id]
    replay = await (await stack.client.post("/v1/dead-letters/replay", headers=key)).json()
    assert replay == {"deliveries": 1}
    await stack.drain()
    assert r.requests[-1][0]["webhook-id"] == alert.alert_id
    assert (await (await stack.client.get("/v1/dead-letters", headers=key)).json())["items"] == []


async def test_replay_since_a_time(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    for alert in alerts_for(sub, 3):
        await stack.deliverer.accept(alert)
    await stack.drain()
    assert len(r.requests) == 3
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = await (await stack.client.post("/v1/replay", json={"since": since}, headers=key)).json()
    assert body == {"alerts": 3, "deliveries": 3}
    await stack.drain()
    assert len(r.requests) == 6
    assert len({h["webhook-id"] for h, _ in r.requests}) == 3


async def test_email_single_then_digest_over_the_burst(stack: Stack, smtp: Any) -> None:
    handler, _ = smtp
    sub, key = await stack.admin("Acme")
    resp = await stack.client.post(
        "/v1/endpoints", json={"type": "email", "address": "compliance@acme.example"}, headers=key
    )
    assert resp.status == 201
    burst = stack.settings.email_burst
    # The window slides (tests/alerts/store/test_digests.py crosses a minute's end): however the run falls on
    # the clock, ten single mails, then the digest.
    for alert in alerts_for(sub, burst + 40):  # a list publishing many changes at once
        await stack.deliverer.accept(alert)
    await stack.drain()
    # The digest waits for its window; force it due now.
    await stack.store.redis.zadd(
        stack.store.k("digests", "due"),
        {m: 0 for m in await stack.store.redis.zrange(stack.store.k("digests", "due"), 0, -1)},
    )
    await stack.drain()
    await asyncio.sleep(0.2)
    subjects = [m["Subject"] for m in handler.messages]
    assert len(handler.messages) == burst + 1, subjects
    assert subjects[-1] == "[listwatch] 40 list changes"
    digest = handler.messages[-1]
    assert digest.is_multipart()
    text = digest.get_payload()[0].get_payload(decode=True).decode()
    assert text.count("alert id:") == 40
    assert handler.messages[0]["To"] == "compliance@acme.example"


async def test_test_event_endpoint(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    r, url = receiver
    _, key = await stack.admin("Acme")
    endpoint = await webhook(stack, key, url)
    result = await (await stack.client.post(f"/v1/endpoints/{endpoint['id']}/test", headers=key)).json()
    assert result == {"delivered": True, "error": None}
    headers, body = r.requests[-1]
    assert Webhook(endpoint["secret"]).verify(body, headers)["data"]["reasons"] == ["a test event sent on request"]


async def test_suppressed_pair_alerts_again_only_on_a_material_change(
    stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    [first] = alerts_for(sub, 1)
    await stack.lists.apply(enrich(change(after=first.after, source="ofac_sdn")))
    await stack.watches.put(WatchEntry(subscriber_id=sub, id="w0", name="Omegavolt 0 Industries"))
    resp = await stack.client.post(
        "/v1/reviews",
        json={
            "watch_id": "w0",
            "source": "ofac_sdn",
            "entry_key": "5000",
            "action": "false_positive",
            "reason": "different firm",
        },
        headers=key,
    )
    assert resp.status == 201, await resp.text()
    # The same entry again, remarks reworded only: still silenced.
    [same] = alerts_for(sub, 1, kind=ChangeKind.MODIFIED)
    assert material_hash(same.after) == material_hash(first.after)
    await stack.deliverer.accept(same)
    await stack.drain()
    assert r.requests == []
    # Now the entry changes materially (a new programme): the subscriber hears about it.
    [material] = alerts_for(sub, 1, kind=ChangeKind.MODIFIED, programs=["SDGT", "IRAN"])
    await stack.deliverer.accept(material)
    await stack.drain()
    assert [orjson.loads(b)["id"] for _, b in r.requests] == [material.alert_id]


async def test_a_crash_mid_delivery_hands_it_back_to_the_queue(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    """The service dies after leasing a delivery and before its outcome: a restarted service (a new
    Deliverer on the same Redis) delivers it once the lease runs out; nothing is lost."""
    from alerts.delivery import Deliverer
    from alerts.metrics import AlertsMetrics

    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    [alert] = alerts_for(sub, 1)
    await stack.deliverer.accept(alert)
    claimed = await stack.store.claim_due(10, 0.3, "dead-process")  # leased by the process that then "dies"
    assert len(claimed) == 1
    restarted = Deliverer(stack.settings, stack.store, stack.channels, [], stack.deliverer._dead_letter,
                          AlertsMetrics(), lease_s=0.3)  # fmt: skip
    assert await restarted.run_due() == 0  # still leased
    await asyncio.sleep(0.4)
    assert await restarted.run_due() == 1
    assert [h["webhook-id"] for h, _ in r.requests] == [alert.alert_id]


async def test_apprise_endpoint_notifies_through_its_url(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    """Apprise's json:// notifier posts to the local receiver: the same path Slack or Teams URLs take."""
    r, url = receiver
    sub, key = await stack.admin("Acme")
    apprise_url = url.replace("http://", "json://")
    resp = await stack.client.post("/v1/endpoints", json={"type": "apprise", "url": apprise_url}, headers=key)
    assert resp.status == 201, await resp.text()
    [alert] = alerts_for(sub, 1)
    await stack.deliverer.accept(alert)
    await stack.drain()
    [(_, body)] = r.requests
    payload = orjson.loads(body)
    assert payload["title"].startswith("[listwatch] Omegavolt 0 Industries: added")
    assert alert.alert_id in payload["message"]
    bad = await stack.client.post("/v1/endpoints", json={"type": "apprise", "url": "no-scheme"}, headers=key)
    assert bad.status == 422


async def test_apprise_targets_pass_the_ssrf_guard(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    """Apprise URLs that name a host are checked like webhooks, at creation and again at send time."""
    from alerts.netsafety import UnsafeUrl
    from alerts.sinks.apprise import AppriseSink, load_checked
    from alerts.sinks.base import Message, SinkMisconfigured
    from alerts.store import Endpoint, now

    r, url = receiver
    sub, key = await stack.admin("Acme")
    for target, code in [
        ("json://169.254.169.254/latest/meta-data", "unsafe_url"),  # link-local, not in the allowed 127/8
        ("xml://[64:ff9b::a9fe:a9fe]/x", "unsafe_url"),  # the same, in NAT64 form
        ("kodi://127.0.0.1/", "unsafe_url"),  # a scheme whose target we do not vet
    ]:
        resp = await stack.client.post("/v1/endpoints", json={"type": "apprise", "url": target}, headers=key)
        assert resp.status == 422, target
        assert (await resp.json())["error"]["code"] == code, target
    loopback = url.replace("http://", "json://")
    with pytest.raises(UnsafeUrl):
        await load_checked(loopback, ())  # the operator allows no private network
    # Stored while allowed, the network is then disallowed: refused at send time, nothing reaches the target.
    endpoint = Endpoint(id="ep_x", type="apprise", target=loopback + "?redirect=yes", created_at=now())
    [alert] = alerts_for(sub, 1)
    with pytest.raises(SinkMisconfigured):
        await AppriseSink(()).send(Message(alert.alert_id, [alert], endpoint))
    assert r.requests == []


async def test_redirects_are_never_followed(stack: Stack, receiver: tuple[Receiver, str]) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    resp = await stack.client.post("/v1/endpoints", json={"type": "apprise", "url": url.replace("http://", "json://")
                                                          + "?redirect=yes"}, headers=key)  # fmt: skip
    assert resp.status == 201, await resp.text()
    r.statuses.extend([307, 307])  # both channels are sent to the same receiver; neither follows
    [alert] = alerts_for(sub, 1)
    await stack.deliverer.accept(alert)
    await stack.deliverer.run_due()
    assert len(r.requests) == 2


async def test_a_confirmation_is_recorded_and_moves_the_standing_but_is_not_sent_again(
    stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    watch = WatchEntry(subscriber_id=sub, id="w1", name="Dmitry Neelov")
    act = entry(key="32026R1720|141", name="Dmitry NEELOV", raw={"celex": "32026R1720"})
    journal = change(ChangeKind.ADDED, after=act, source="eu_journal").derive(provisional_for="eu_fsf")
    [provisional] = match_change(enrich(journal), [watch], {sub: 0.88}, datetime.now(UTC))
    await stack.deliverer.accept(provisional)
    await stack.drain()
    assert len(r.requests) == 1
    fsf = change(ChangeKind.ADDED, after=entry(key="EU.1.2", name="Dmitry NEELOV"), source="eu_fsf")
    [added] = match_change(enrich(fsf), [watch], {sub: 0.88}, datetime.now(UTC))
    confirmation = confirm(added, [(provisional.alert_id, "32026R1720")])
    await stack.deliverer.accept(confirmation)
    await stack.drain()
    assert len(r.requests) == 1  # nothing sent again
    assert stack.deliverer.metrics.confirmed._value.get() == 1
    [standing] = (await stack.store.standings(sub, ["w1"]))["w1"]
    assert (standing["source"], standing["entry_key"]) == ("eu_fsf", "EU.1.2")
    page = await (await stack.client.get("/v1/alerts", headers=key)).json()
    kinds = {a["alert_id"]: (a["kind"], a.get("confirms")) for a in page["items"]}
    assert kinds == {provisional.alert_id: ("added", []), confirmation.alert_id: ("confirmed", [provisional.alert_id])}


async def test_webhooks_past_the_rate_wait_their_turn_in_order(
    env: dict[str, str], receiver: tuple[Receiver, str]
) -> None:
    from tests.alerts.rig import rig

    got, url = receiver
    made = await rig(env, url, n=12, extra={"LISTWATCH_WEBHOOK_RATE": "5"})
    try:
        # One batch: five go in this one-second window (up to ten if the batch spans two windows), and the
        # rest of the endpoint's deliveries wait behind the first one held back.
        assert await made.deliverer.run_due(limit=50) == 12
        assert 5 <= len(got.requests) <= 10
        await made.deliver_all()
        sent = [orjson.loads(body)["id"] for _, body in got.requests]
        assert sent == [a.alert_id for a in made.alerts]  # each once, in order
    finally:
        await made.close()


async def test_a_urls_check_before_sending_is_remembered_and_a_refusal_never_is(
    stack: Stack, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import alerts.sinks.webhook as webhook_module
    from alerts.sinks.base import Message, SinkMisconfigured
    from alerts.sinks.webhook import WebhookSink

    checked: list[str] = []
    real_check = webhook_module.check_url

    async def counting(url: str, *args: Any, **kwargs: Any) -> None:
        checked.append(url)
        await real_check(url, *args, **kwargs)

    monkeypatch.setattr(webhook_module, "check_url", counting)
    got, url = receiver
    sink = WebhookSink(stack.settings)
    sub, _ = await stack.admin("Acme")
    [alert] = alerts_for(sub, 1)
    ok = Endpoint(id="ep", type="webhook", target=url, created_at=now(), secret="whsec_" + "A" * 32)
    private = Endpoint(id="ep2", type="webhook", target="http://10.1.2.3/hook", created_at=now(),
                       secret="whsec_" + "A" * 32)  # fmt: skip
    try:
        for _ in range(3):
            await sink.send(Message(alert.alert_id, [alert], ok))
        for _ in range(2):
            with pytest.raises(SinkMisconfigured, match="private"):
                await sink.send(Message(alert.alert_id, [alert], private))
    finally:
        await sink.aclose()
    assert len(got.requests) == 3
    assert checked == [url, private.target, private.target]  # checked once while it holds; refusals each time
