"""Alert history: filters and cursor pages, one alert, its acknowledgement and its deliveries."""

from __future__ import annotations

from dataclasses import asdict

from alerts.api import models as m
from alerts.api.base import Router, not_found
from alerts.api.deps import Ctx, at, parse_score_cursor, score_cursor
from alerts.events import alert_data
from contracts.models import Alert

router = Router("alerts")
_SCAN = 200  # alerts read from Redis per round while filtering


def _matches(alert: Alert, query: m.AlertsQuery, acked: set[str]) -> bool:
    if query.source is not None and alert.source != query.source:
        return False
    if query.kind is not None and alert.kind != query.kind:
        return False
    if query.watch_id is not None and alert.watch_id != query.watch_id:
        return False
    return query.acknowledged is None or (alert.alert_id in acked) == query.acknowledged


@router.route("GET", "/v1/alerts", summary="Alert history, newest first: filters and cursor pages",
              query=m.AlertsQuery, response=m.AlertPage)  # fmt: skip
async def list_alerts(ctx: Ctx, query: m.AlertsQuery) -> m.AlertPage:
    store = ctx.deps.store
    since = query.since.timestamp() if query.since else None
    until = query.until.timestamp() if query.until else None
    cursor = parse_score_cursor(query.cursor) if query.cursor else None
    items: list[m.AlertItem] = []
    last: tuple[float, str] | None = None
    while len(items) < query.limit:
        page = await store.alerts_page(ctx.sub, since, until, cursor, _SCAN)
        if not page:
            break
        acked = await store.acknowledged(ctx.sub, [a.alert_id for _, a in page])
        for score, alert in page:
            cursor = (score, alert.alert_id)
            if not _matches(alert, query, acked):
                continue
            items.append(m.AlertItem(**alert_data(alert), acknowledged=alert.alert_id in acked))
            last = cursor
            if len(items) >= query.limit:
                break
    more = len(items) >= query.limit and last is not None
    return m.AlertPage(items=items, next_cursor=score_cursor(*last) if more and last else None)


@router.route("GET", "/v1/alerts/{alert_id}", summary="One alert", response=m.AlertOut)
async def get_alert(ctx: Ctx, alert_id: str) -> m.AlertOut:
    alert = await ctx.deps.store.alert(ctx.sub, alert_id)
    if alert is None:
        raise not_found("alert")
    return m.AlertOut(**alert_data(alert))


@router.route("POST", "/v1/alerts/{alert_id}/ack", summary="Acknowledge an alert", response=m.Acknowledged)
async def ack_alert(ctx: Ctx, alert_id: str) -> m.Acknowledged:
    if not await ctx.deps.store.acknowledge(ctx.sub, alert_id):
        raise not_found("alert")
    return m.Acknowledged(acknowledged=True)


@router.route("GET", "/v1/alerts/{alert_id}/deliveries", summary="Delivery attempts of an alert, per endpoint",
              response=m.DeliveryList)  # fmt: skip
async def alert_deliveries(ctx: Ctx, alert_id: str) -> m.DeliveryList:
    store = ctx.deps.store
    if await store.alert(ctx.sub, alert_id) is None:
        raise not_found("alert")
    out = []
    for endpoint in await store.endpoints(ctx.sub):
        delivery = await store.delivery(f"{alert_id}.{endpoint.id}")
        if delivery is None:
            continue
        attempts = [m.Attempt(**{**asdict(a), "at": at(a.at)}) for a in await store.attempts(delivery.id)]
        next_at = at(delivery.next_at) if delivery.status == "pending" else None
        out.append(m.DeliveryOut(id=delivery.id, endpoint_id=endpoint.id, status=delivery.status, attempts=attempts,
                                 next_attempt_at=next_at))  # fmt: skip
    return m.DeliveryList(items=out)
