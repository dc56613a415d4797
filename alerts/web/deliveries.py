"""Deliveries: per endpoint its success rate and last attempts (status, latency), the dead letters with a
replay button, a test event, a new endpoint whose signing secret is shown once, and secret rotation."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from alerts.api import endpoints as api
from alerts.api import models as m
from alerts.api.base import ApiError
from alerts.web.inbox import recent
from alerts.web.render import Pages, see_other, sub_of

_RECENT = 200  # alerts whose deliveries make the success rate


def routes(app: web.Application, pages: Pages) -> None:
    store, deliverer = pages.deps.store, pages.deps.deliverer

    async def page(request: web.Request, status: int = 200, **shown: Any) -> web.Response:
        sub = sub_of(request)
        endpoints = await store.endpoints(sub)
        alerts = await recent(pages, sub, _RECENT)
        stats: dict[str, dict[str, Any]] = {}
        for endpoint in endpoints:
            outcomes: Counter[str] = Counter()
            attempts: list[dict[str, Any]] = []
            for alert in alerts:
                delivery = await store.delivery(f"{alert.alert_id}.{endpoint.id}")
                if delivery is None:
                    continue
                outcomes[delivery.status] += 1
                for attempt in await store.attempts(delivery.id):
                    attempts.append({"alert": alert, "attempt": attempt})
            done = outcomes["delivered"] + outcomes["dead"]
            attempts.sort(key=lambda a: -a["attempt"].at)
            stats[endpoint.id] = {"outcomes": outcomes, "rate": outcomes["delivered"] / done if done else None,
                                  "attempts": attempts[:10]}  # fmt: skip
        dead = []
        for delivery_id, _ in await store.dead_page(sub, None, 100):
            delivery = await store.delivery(delivery_id)
            if delivery is not None:
                dead.append({"delivery": delivery, "alert": await store.alert(sub, delivery.alert_id)})
        return pages.render(request, "deliveries.html", status=status, title="Deliveries", endpoints=endpoints,
                            stats=stats, dead=dead, channels=sorted(pages.deps.channels), **shown)  # fmt: skip

    async def show(request: web.Request) -> web.StreamResponse:
        return await page(request)

    async def create(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        kind = str(form.get("type", ""))
        channel = pages.deps.channels.get(kind)
        if channel is None:
            return await page(request, status=422, error=f"No {kind or 'such'} channel is configured here.")
        try:
            target = str(form.get("target", "")).strip() or None
            body = (m.EndpointIn(type=kind, url=target) if channel.policy.target_field == "url"
                    else m.EndpointIn(type=kind, address=target))  # fmt: skip
            created = await api.create_endpoint(pages.ctx(request), body)
        except ApiError as exc:
            return await page(request, status=exc.status, error=exc.message)
        except ValidationError as exc:
            return await page(request, status=422, error=f"{exc.errors()[0]['msg']}")
        return await page(request, secret=created.secret, secret_for=created.id)

    async def rotate(request: web.Request) -> web.StreamResponse:
        try:
            rotated = await api.rotate_secret(pages.ctx(request), request.match_info["endpoint_id"])
        except ApiError as exc:
            return await page(request, status=exc.status, error=exc.message)
        return await page(request, secret=rotated.secret, secret_for=rotated.id)

    async def test(request: web.Request) -> web.StreamResponse:
        endpoint_id = request.match_info["endpoint_id"]
        try:
            result = await api.test_endpoint(pages.ctx(request), endpoint_id)
        except ApiError as exc:
            return await page(request, status=exc.status, error=exc.message)
        note = "Test event delivered." if result.delivered else f"Test event not delivered: {result.error}"
        return await page(request, notice=f"{endpoint_id}: {note}")

    async def replay(request: web.Request) -> web.StreamResponse:
        if not await deliverer.replay_dead_one(sub_of(request), request.match_info["delivery_id"]):
            return await page(request, status=404, error="That dead letter is gone (already replayed?).")
        raise see_other("/app/deliveries")

    app.router.add_get("/app/deliveries", show)
    app.router.add_post("/app/deliveries/endpoints", create)
    app.router.add_post("/app/deliveries/endpoints/{endpoint_id}/rotate", rotate)
    app.router.add_post("/app/deliveries/endpoints/{endpoint_id}/test", test)
    app.router.add_post("/app/deliveries/dead/{delivery_id}/replay", replay)
