"""Delivery endpoints: one per channel target (a webhook URL, an e-mail address, an Apprise URL), and a test
event on request. What a channel needs is asked of the channel (alerts/sinks), never spelled out here."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime

from alerts.api import models as m
from alerts.api.base import ApiError, Router, not_found
from alerts.api.deps import Ctx, at
from alerts.sinks.base import Channel, DeliveryError, EndpointGone, InvalidTarget, Message, SinkMisconfigured
from alerts.store import Endpoint, now
from contracts.models import Alert, Entry

router = Router("endpoints")
MAX_ENDPOINTS = 25  # per subscriber: endpoints are listed whole


def endpoint_out(endpoint: Endpoint) -> m.EndpointOut:
    return m.EndpointOut(id=endpoint.id, type=endpoint.type, target=endpoint.target, created_at=at(endpoint.created_at),
                         digest=endpoint.digest, enabled=endpoint.enabled, disabled_reason=endpoint.disabled_reason,
                         description=endpoint.description)  # fmt: skip


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _channel(ctx: Ctx, kind: str | None) -> Channel:
    names = ", ".join(sorted(ctx.deps.channels))
    if kind is None:
        raise ApiError(422, "missing_field", f"field 'type' is required: one of {names}")
    channel = ctx.deps.channels.get(kind)
    if channel is None:
        raise ApiError(422, "invalid_field", f"type must be one of {names}")
    return channel


async def _apply(ctx: Ctx, body: m.EndpointIn, existing: Endpoint | None) -> Endpoint:
    kind = body.type if existing is None else existing.type
    if existing is not None and body.type is not None and body.type != existing.type:
        raise ApiError(422, "invalid_field", "an endpoint's type cannot change")
    channel = _channel(ctx, kind)
    field = channel.policy.target_field
    other = "address" if field == "url" else "url"
    if getattr(body, other) is not None:
        raise ApiError(422, "unknown_field", f"a {kind} endpoint takes {field!r}, not {other!r}")
    target = getattr(body, field) or (existing.target if existing else None)
    if target is None:
        raise ApiError(422, "missing_field", f"field {field!r} is required")
    try:
        target = await channel.check_target(target)
    except InvalidTarget as exc:
        code = "unsafe_url" if field == "url" else "invalid_field"
        raise ApiError(422, code, str(exc)) from None
    if body.digest is not None and not channel.policy.digests:
        raise ApiError(422, "unknown_field", f"a {kind} endpoint has no digest mode")
    secret = new_secret() if channel.policy.signed else None
    endpoint = existing or Endpoint(
        id="ep_" + uuid.uuid4().hex[:12], type=channel.name, target=target, created_at=now(), secret=secret
    )
    endpoint.target = target
    if body.digest is not None:
        endpoint.digest = body.digest
    if body.description is not None:
        endpoint.description = body.description
    if body.enabled is not None:
        endpoint.enabled = body.enabled
        endpoint.disabled_reason = None if body.enabled else "disabled by the subscriber"
    return endpoint


@router.route("GET", "/v1/endpoints", summary="Delivery endpoints", response=m.EndpointList)
async def list_endpoints(ctx: Ctx) -> m.EndpointList:
    return m.EndpointList(items=[endpoint_out(e) for e in await ctx.deps.store.endpoints(ctx.sub)])


@router.route("POST", "/v1/endpoints", summary="Add an endpoint; a webhook's signing secret is shown once",
              status=201, body=m.EndpointIn, response=m.EndpointCreated)  # fmt: skip
async def create_endpoint(ctx: Ctx, body: m.EndpointIn) -> m.EndpointCreated:
    if len(await ctx.deps.store.endpoints(ctx.sub)) >= MAX_ENDPOINTS:
        raise ApiError(409, "too_many_endpoints", f"at most {MAX_ENDPOINTS} endpoints per subscriber")
    endpoint = await _apply(ctx, body, None)
    await ctx.deps.store.put_endpoint(ctx.sub, endpoint)
    return m.EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.route("GET", "/v1/endpoints/{endpoint_id}", summary="One endpoint", response=m.EndpointOut)
async def get_endpoint(ctx: Ctx, endpoint_id: str) -> m.EndpointOut:
    endpoint = await ctx.deps.store.endpoint(ctx.sub, endpoint_id)
    if endpoint is None:
        raise not_found("endpoint")
    return endpoint_out(endpoint)


@router.route("PUT", "/v1/endpoints/{endpoint_id}", summary="Change an endpoint (target, digest, enabled)",
              body=m.EndpointIn, response=m.EndpointOut)  # fmt: skip
async def update_endpoint(ctx: Ctx, endpoint_id: str, body: m.EndpointIn) -> m.EndpointOut:
    existing = await ctx.deps.store.endpoint(ctx.sub, endpoint_id)
    if existing is None:
        raise not_found("endpoint")
    endpoint = await _apply(ctx, body, existing)
    await ctx.deps.store.put_endpoint(ctx.sub, endpoint)
    return endpoint_out(endpoint)


@router.route("DELETE", "/v1/endpoints/{endpoint_id}", summary="Remove an endpoint", status=204)
async def delete_endpoint(ctx: Ctx, endpoint_id: str) -> None:
    if not await ctx.deps.store.delete_endpoint(ctx.sub, endpoint_id):
        raise not_found("endpoint")


@router.route("POST", "/v1/endpoints/{endpoint_id}/rotate-secret",
              summary="Replace a signed endpoint's secret; the new one is shown once", response=m.EndpointCreated)
async def rotate_secret(ctx: Ctx, endpoint_id: str) -> m.EndpointCreated:
    endpoint = await ctx.deps.store.endpoint(ctx.sub, endpoint_id)
    if endpoint is None:
        raise not_found("endpoint")
    channel = ctx.deps.channels.get(endpoint.type)
    if channel is None or not channel.policy.signed:
        raise ApiError(409, "not_signed", f"a {endpoint.type} endpoint has no signing secret")
    endpoint.secret = new_secret()
    await ctx.deps.store.put_endpoint(ctx.sub, endpoint)
    return m.EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.route("POST", "/v1/endpoints/{endpoint_id}/test", summary="Send a test event now", response=m.TestResult)
async def test_endpoint(ctx: Ctx, endpoint_id: str) -> m.TestResult:
    endpoint = await ctx.deps.store.endpoint(ctx.sub, endpoint_id)
    if endpoint is None:
        raise not_found("endpoint")
    channel = ctx.deps.channels.get(endpoint.type)
    if channel is None:
        raise ApiError(409, "channel_unavailable", f"no {endpoint.type} channel is configured")
    try:
        await channel.send(Message("test_" + uuid.uuid4().hex[:16], [test_alert(ctx.sub)], endpoint))
    except SinkMisconfigured as exc:
        # Says why the target is refused, never whether a refused target would have answered.
        return m.TestResult(delivered=False, error=f"endpoint refused: {exc}")
    except (DeliveryError, EndpointGone) as exc:
        return m.TestResult(delivered=False, error=str(exc))
    return m.TestResult(delivered=True)


def test_alert(sub: str) -> Alert:
    stamp = datetime.now(UTC)
    return Alert(
        alert_id="test", subscriber_id=sub, watch_id="test", watch_name="Example Co., Ltd.", source="test",
        entry_key="test", entry_name="EXAMPLE CO., LTD.", kind="added", before=None,
        after=Entry(key="test", name="EXAMPLE CO., LTD."), fields=[], score=1.0,
        reasons=["a test event sent on request"], change_event_id="test", observed_at=stamp, created_at=stamp,
    )  # fmt: skip
