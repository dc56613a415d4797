"""Subscribers (the administrator's), the subscriber itself, its match threshold and its API keys."""

from __future__ import annotations

from alerts.api import models as m
from alerts.api.base import ApiError, Auth, Router, not_found
from alerts.api.deps import Ctx, at

router = Router("subscribers")


@router.route("POST", "/v1/subscribers", summary="Create a subscriber and its first API key (administrator)",
              status=201, auth=Auth.ADMIN, body=m.NewSubscriber, response=m.SubscriberCreated)  # fmt: skip
async def create_subscriber(ctx: Ctx, body: m.NewSubscriber) -> m.SubscriberCreated:
    name = body.name.strip()
    if not name:
        raise ApiError(422, "invalid_field", "name must not be blank")
    sub, key = await ctx.deps.store.create_subscriber(name)
    return m.SubscriberCreated(id=sub, name=name, api_key=key)


async def _subscriber(ctx: Ctx, sub: str) -> m.Subscriber | None:
    info = await ctx.deps.store.subscriber(sub)
    if info is None:
        return None
    threshold = await ctx.deps.watches.threshold(sub, ctx.deps.settings.common.match_threshold)
    return m.Subscriber(id=sub, name=info["name"], created_at=at(info["created_at"]), threshold=threshold)


@router.route("GET", "/v1/subscribers", summary="List subscribers (administrator)", auth=Auth.ADMIN,
              query=m.Page, response=m.SubscriberPage)  # fmt: skip
async def list_subscribers(ctx: Ctx, query: m.Page) -> m.SubscriberPage:
    ids = [s for s in await ctx.deps.store.subscribers() if query.cursor is None or s > query.cursor]
    page = ids[: query.limit]
    items = [s for s in [await _subscriber(ctx, sub) for sub in page] if s is not None]
    return m.SubscriberPage(items=items, next_cursor=page[-1] if len(ids) > query.limit else None)


@router.route("GET", "/v1/me", summary="The authenticated subscriber", response=m.Subscriber)
async def me(ctx: Ctx) -> m.Subscriber:
    info = await _subscriber(ctx, ctx.sub)
    if info is None:
        raise not_found("subscriber")
    return info


@router.route("PUT", "/v1/me/threshold", summary="Set this subscriber's match threshold (0.5 to 1)",
              body=m.Threshold, response=m.ThresholdSet)  # fmt: skip
async def set_threshold(ctx: Ctx, body: m.Threshold) -> m.ThresholdSet:
    await ctx.deps.watches.set_threshold(ctx.sub, body.threshold)
    return m.ThresholdSet(threshold=body.threshold)


@router.route("GET", "/v1/keys", summary="List API keys (never the keys themselves)", response=m.ApiKeyList)
async def list_keys(ctx: Ctx) -> m.ApiKeyList:
    keys = await ctx.deps.store.keys(ctx.sub)
    return m.ApiKeyList(items=[m.ApiKey(id=k.id, created_at=at(k.created_at), last4=k.last4,
                                        revoked_at=at(k.revoked_at)) for k in keys])  # fmt: skip


@router.route("POST", "/v1/keys", summary="Create an API key; it is shown once", status=201, response=m.KeyCreated)
async def create_key(ctx: Ctx) -> m.KeyCreated:
    secret, record = await ctx.deps.store.create_key(ctx.sub)
    return m.KeyCreated(id=record.id, api_key=secret, created_at=at(record.created_at))


@router.route("DELETE", "/v1/keys/{key_id}", summary="Revoke an API key", status=204)
async def revoke_key(ctx: Ctx, key_id: str) -> None:
    if not await ctx.deps.store.revoke_key(ctx.sub, key_id):
        raise not_found("key")


@router.route("POST", "/v1/keys/{key_id}/rotate", summary="Replace an API key by a new one", status=201,
              response=m.KeyRotated)  # fmt: skip
async def rotate_key(ctx: Ctx, key_id: str) -> m.KeyRotated:
    store = ctx.deps.store
    if not any(k.id == key_id and k.revoked_at is None for k in await store.keys(ctx.sub)):
        raise not_found("key")
    secret, record = await store.create_key(ctx.sub)
    await store.revoke_key(ctx.sub, key_id)
    return m.KeyRotated(id=record.id, api_key=secret, replaces=key_id)
