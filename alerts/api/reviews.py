"""Reviews of a (watched company, list entry) pair: acknowledge, false positive, suppress until a date."""

from __future__ import annotations

import uuid

from alerts.api import models as m
from alerts.api.base import ApiError, Router, not_found
from alerts.api.deps import Ctx, at
from alerts.store import Review, material_hash, now

router = Router("reviews")


def review_out(review: Review) -> m.ReviewOut:
    return m.ReviewOut(id=review.id, watch_id=review.watch_id, source=review.source, entry_key=review.entry_key,
                       action=review.action, reason=review.reason, created_at=at(review.created_at),
                       expires_at=at(review.expires_at))  # fmt: skip


@router.route("GET", "/v1/reviews", summary="Reviews, oldest first, a page at a time", query=m.Page,
              response=m.ReviewPage)  # fmt: skip
async def list_reviews(ctx: Ctx, query: m.Page) -> m.ReviewPage:
    reviews = [r for r in await ctx.deps.store.reviews(ctx.sub) if query.cursor is None or r.id > query.cursor]
    reviews.sort(key=lambda r: r.id)
    page = reviews[: query.limit]
    more = len(reviews) > query.limit
    return m.ReviewPage(items=[review_out(r) for r in page], next_cursor=page[-1].id if more else None)


@router.route("POST", "/v1/reviews", summary="Review a (watch entry, list entry) pair", status=201, body=m.ReviewIn,
              response=m.ReviewOut)  # fmt: skip
async def create_review(ctx: Ctx, body: m.ReviewIn) -> m.ReviewOut:
    expires_at = body.expires_at.timestamp() if body.expires_at else None
    if expires_at is not None and expires_at <= now():
        raise ApiError(422, "invalid_field", "expires_at must be in the future")
    if await ctx.deps.watches.get(ctx.sub, body.watch_id) is None:
        raise not_found("watch entry")
    listed = await ctx.deps.lists.get(body.source, body.entry_key)
    if listed is None:
        raise not_found("list entry")
    review = Review(
        id="rev_" + uuid.uuid4().hex[:12], watch_id=body.watch_id, source=body.source, entry_key=body.entry_key,
        action=body.action, reason=body.reason, created_at=now(), expires_at=expires_at,
        entry_hash=material_hash(listed.entry),
    )  # fmt: skip
    await ctx.deps.store.put_review(ctx.sub, review)
    return review_out(review)


@router.route("DELETE", "/v1/reviews/{review_id}", summary="Withdraw a review", status=204)
async def delete_review(ctx: Ctx, review_id: str) -> None:
    if not await ctx.deps.store.delete_review(ctx.sub, review_id):
        raise not_found("review")
