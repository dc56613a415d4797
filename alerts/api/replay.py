"""Deliver again: every alert since a time, or the dead letters."""

from __future__ import annotations

from alerts.api import models as m
from alerts.api.base import Router, not_found
from alerts.api.deps import Ctx, parse_score_cursor, score_cursor

router = Router("replay")


@router.route("POST", "/v1/replay", summary="Deliver again every alert since a time", body=m.ReplayIn,
              response=m.Replayed)  # fmt: skip
async def replay(ctx: Ctx, body: m.ReplayIn) -> m.Replayed:
    store = ctx.deps.store
    ids: list[str] = []
    cursor: tuple[float, str] | None = None
    while page := await store.alerts_page(ctx.sub, body.since.timestamp(), None, cursor, 500):
        ids.extend(a.alert_id for _, a in page)
        cursor = (page[-1][0], page[-1][1].alert_id)
    return m.Replayed(alerts=len(ids), deliveries=await ctx.deps.deliverer.replay(ctx.sub, ids))


@router.route("GET", "/v1/dead-letters", summary="Deliveries given up after the last attempt, oldest first",
              query=m.Page, response=m.DeadLetterPage)  # fmt: skip
async def dead_letters(ctx: Ctx, query: m.Page) -> m.DeadLetterPage:
    store = ctx.deps.store
    after = parse_score_cursor(query.cursor) if query.cursor else None
    rows = await store.dead_page(ctx.sub, after, query.limit)
    items = []
    for delivery_id, _ in rows:
        d = await store.delivery(delivery_id)
        if d is not None:
            items.append(m.DeadLetter(id=d.id, alert_id=d.alert_id, endpoint_id=d.endpoint_id, attempts=d.attempts,
                                      last_error=d.last_error))  # fmt: skip
    more = len(rows) >= query.limit
    return m.DeadLetterPage(items=items, next_cursor=score_cursor(rows[-1][1], rows[-1][0]) if more and rows else None)


@router.route("POST", "/v1/dead-letters/replay", summary="Deliver the dead letters again", response=m.DeadReplayed)
async def replay_dead(ctx: Ctx) -> m.DeadReplayed:
    return m.DeadReplayed(deliveries=await ctx.deps.deliverer.replay_dead(ctx.sub))


@router.route("POST", "/v1/dead-letters/{delivery_id}/replay", summary="Deliver one dead letter again",
              response=m.DeadReplayed)  # fmt: skip
async def replay_one(ctx: Ctx, delivery_id: str) -> m.DeadReplayed:
    if not await ctx.deps.deliverer.replay_dead_one(ctx.sub, delivery_id):
        raise not_found("dead letter")
    return m.DeadReplayed(deliveries=1)
