"""The subscriptions API (aiohttp, versioned under /v1): what a subscribing company touches.

Every route but the OpenAPI document needs ``Authorization: Bearer <key>``: the administrator's token for
/v1/subscribers, a subscriber's API key for the rest. A subscriber only ever reaches its own data: every
lookup is keyed by the authenticated subscriber, so another subscriber's ids answer 404. Bad input gets a
4xx with ``{"error": {"code", "message"}}``; never a 500.
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from alerts.delivery import Deliverer
from alerts.events import alert_data
from alerts.netsafety import UnsafeUrl, check_url
from alerts.settings import AlertsSettings
from alerts.sinks.base import DeliveryError, EndpointGone, Message, Sink, SinkMisconfigured
from alerts.store import AlertStore, Endpoint, Review, material_hash, now
from contracts.clients import TRANSIENT
from contracts.models import Alert, WatchEvent
from streams.lists import ListStateStore
from streams.match.logic import score_watch
from streams.watch_events import watch_event
from streams.watchlists import InvalidWatch, WatchEntry, WatchlistStore, parse_watchlist_csv, watch_from_fields

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
SUBSCRIBER = web.RequestKey("subscriber", str)
PublishWatchEvents = Callable[[list[WatchEvent]], Awaitable[None]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


@dataclass(frozen=True)
class Deps:
    settings: AlertsSettings
    store: AlertStore
    watches: WatchlistStore
    lists: ListStateStore
    deliverer: Deliverer
    channels: Mapping[str, Sink]
    publish_watch_events: PublishWatchEvents


# -- request helpers ---------------------------------------------------------------------------------------


async def body_json(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", f"request body above {MAX_BODY} bytes")
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    return data


def field(data: Mapping[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise ApiError(422, "missing_field", f"field {name!r} is required")
        return None
    value = data[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ApiError(422, "invalid_field", f"field {name!r} must be {kind.__name__}")
    return value


def only(data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise ApiError(
            422, "unknown_field", f"unknown field(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
        )


def parse_time(value: str, name: str) -> float:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "invalid_field", f"{name} must be an ISO 8601 date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def watch_json(entry: WatchEntry) -> dict[str, Any]:
    data = asdict(entry)
    data.pop("subscriber_id")
    data["alt_names"], data["tags"] = list(entry.alt_names), list(entry.tags)
    return data


# -- the application ---------------------------------------------------------------------------------------


def build_api(deps: Deps) -> web.Application:
    routes = web.RouteTableDef()
    store, settings = deps.store, deps.settings

    def sub_of(request: web.Request) -> str:
        return request[SUBSCRIBER]

    # subscribers (administrator)
    @routes.post("/v1/subscribers")
    async def create_subscriber(request: web.Request) -> web.Response:
        data = await body_json(request)
        only(data, {"name"})
        name = field(data, "name", str).strip()
        if not 1 <= len(name) <= 200:
            raise ApiError(422, "invalid_field", "name must be 1 to 200 characters")
        sub, key = await store.create_subscriber(name)
        return json_response({"id": sub, "name": name, "api_key": key}, 201)

    @routes.get("/v1/subscribers")
    async def list_subscribers(request: web.Request) -> web.Response:
        return json_response({"items": [await store.subscriber(s) for s in await store.subscribers()]})

    # the subscriber itself and its keys
    @routes.get("/v1/me")
    async def me(request: web.Request) -> web.Response:
        info = await store.subscriber(sub_of(request))
        if info is None:
            raise not_found("subscriber")
        info.setdefault("threshold", settings.common.match_threshold)
        info["created_at"] = iso(info["created_at"])
        return json_response(info)

    @routes.put("/v1/me/threshold")
    async def set_threshold(request: web.Request) -> web.Response:
        data = await body_json(request)
        only(data, {"threshold"})
        value = field(data, "threshold", float)
        if not 0 < value <= 1:
            raise ApiError(422, "invalid_field", "threshold must be in (0, 1]")
        await deps.watches.set_threshold(sub_of(request), value)
        return json_response({"threshold": value})

    @routes.get("/v1/keys")
    async def list_keys(request: web.Request) -> web.Response:
        keys = await store.keys(sub_of(request))
        return json_response(
            {"items": [{**asdict(k), "created_at": iso(k.created_at), "revoked_at": iso(k.revoked_at)} for k in keys]}
        )

    @routes.post("/v1/keys")
    async def create_key(request: web.Request) -> web.Response:
        secret, record = await store.create_key(sub_of(request))
        return json_response({"id": record.id, "api_key": secret, "created_at": iso(record.created_at)}, 201)

    @routes.delete("/v1/keys/{key_id}")
    async def revoke_key(request: web.Request) -> web.Response:
        if not await store.revoke_key(sub_of(request), request.match_info["key_id"]):
            raise not_found("key")
        return web.Response(status=204)

    @routes.post("/v1/keys/{key_id}/rotate")
    async def rotate_key(request: web.Request) -> web.Response:
        sub = sub_of(request)
        if not any(k.id == request.match_info["key_id"] and k.revoked_at is None for k in await store.keys(sub)):
            raise not_found("key")
        secret, record = await store.create_key(sub)
        await store.revoke_key(sub, request.match_info["key_id"])
        return json_response({"id": record.id, "api_key": secret, "replaces": request.match_info["key_id"]}, 201)

    # watchlist
    @routes.get("/v1/watchlist")
    async def list_watches(request: web.Request) -> web.Response:
        return json_response({"items": [watch_json(e) for e in await deps.watches.entries(sub_of(request))]})

    async def save_watch(sub: str, data: Mapping[str, Any]) -> WatchEntry:
        try:
            entry = watch_from_fields(data, sub)
        except InvalidWatch as exc:
            raise ApiError(422, "invalid_watch", str(exc)) from None
        await deps.watches.put(entry)
        await deps.publish_watch_events([watch_event(sub, entry.id)])
        return entry

    @routes.post("/v1/watchlist")
    async def create_watch(request: web.Request) -> web.Response:
        sub, data = sub_of(request), await body_json(request)
        if isinstance(data.get("id"), str) and await deps.watches.get(sub, data["id"].strip()) is not None:
            raise ApiError(409, "conflict", f"watch entry {data['id']!r} exists; PUT /v1/watchlist/{{id}} replaces it")
        return json_response(watch_json(await save_watch(sub, data)), 201)

    @routes.get("/v1/watchlist/{watch_id}")
    async def get_watch(request: web.Request) -> web.Response:
        entry = await deps.watches.get(sub_of(request), request.match_info["watch_id"])
        if entry is None:
            raise not_found("watch entry")
        return json_response(watch_json(entry))

    @routes.put("/v1/watchlist/{watch_id}")
    async def put_watch(request: web.Request) -> web.Response:
        data = await body_json(request)
        if "id" in data and data["id"] != request.match_info["watch_id"]:
            raise ApiError(422, "invalid_field", "id in the body differs from the one in the path")
        data["id"] = request.match_info["watch_id"]
        return json_response(watch_json(await save_watch(sub_of(request), data)))

    @routes.delete("/v1/watchlist/{watch_id}")
    async def delete_watch(request: web.Request) -> web.Response:
        sub = sub_of(request)
        if not await deps.watches.remove(sub, request.match_info["watch_id"]):
            raise not_found("watch entry")
        await deps.publish_watch_events([watch_event(sub, request.match_info["watch_id"], "remove")])
        return web.Response(status=204)

    @routes.post("/v1/watchlist/import")
    async def import_watchlist(request: web.Request) -> web.Response:
        sub = sub_of(request)
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise ApiError(413, "too_large", f"request body above {MAX_BODY} bytes")
        try:
            text = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_csv", "the CSV must be UTF-8") from None
        entries, errors = parse_watchlist_csv(text, sub)
        if errors and errors[0].row == 1 and not entries:
            raise ApiError(422, "invalid_csv", errors[0].reason)
        for entry in entries:
            await deps.watches.put(entry)
        await deps.publish_watch_events([watch_event(sub, e.id) for e in entries])
        return json_response({"imported": len(entries), "rejected": [asdict(e) for e in errors]})

    # where do my companies stand now
    @routes.get("/v1/status")
    async def status(request: web.Request) -> web.Response:
        from streams.watchlists import watch_keys

        sub = sub_of(request)
        threshold = await deps.watches.threshold(sub, settings.common.match_threshold)
        items = []
        for entry in await deps.watches.entries(sub):
            matches = []
            for listed in await deps.lists.candidates(watch_keys(entry)):
                s = score_watch(entry, listed.enrichment)
                if s.value >= threshold:
                    matches.append(
                        {
                            "source": listed.source,
                            "entry_key": listed.entry.key,
                            "entry_name": listed.entry.name,
                            "score": s.value,
                            "reasons": list(s.reasons),
                            "list_kind": listed.enrichment.list_kind,
                            "list_colour": listed.enrichment.list_colour,
                        }
                    )
            items.append({"watch": watch_json(entry), "listed": bool(matches), "matches": matches})
        return json_response({"threshold": threshold, "items": items})

    # alert history
    @routes.get("/v1/alerts")
    async def list_alerts(request: web.Request) -> web.Response:
        sub, q = sub_of(request), request.query
        only(q, {"source", "kind", "watch_id", "since", "until", "limit", "cursor", "acknowledged"})
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise ApiError(422, "invalid_field", "limit must be an integer") from None
        if not 1 <= limit <= 500:
            raise ApiError(422, "invalid_field", "limit must be 1 to 500")
        since = parse_time(q["since"], "since") if "since" in q else None
        until = parse_time(q["until"], "until") if "until" in q else None
        cursor = decode_cursor(q["cursor"]) if "cursor" in q else None
        kinds = {"added", "removed", "modified", "already_listed"}
        if "kind" in q and q["kind"] not in kinds:
            raise ApiError(422, "invalid_field", f"kind must be one of {', '.join(sorted(kinds))}")
        items: list[dict[str, Any]] = []
        last: tuple[float, str] | None = None
        while len(items) < limit:
            page = await store.alerts_page(sub, since, until, cursor, 200)
            if not page:
                break
            acked = await store.acknowledged(sub, [a.alert_id for _, a in page])
            for score, alert in page:
                cursor = (score, alert.alert_id)
                if not matches_filters(alert, q, acked):
                    continue
                items.append({**alert_data(alert), "acknowledged": alert.alert_id in acked})
                last = cursor
                if len(items) >= limit:
                    break
        more = len(items) >= limit and last is not None
        return json_response({"items": items, "next_cursor": encode_cursor(last) if more and last else None})

    @routes.get("/v1/alerts/{alert_id}")
    async def get_alert(request: web.Request) -> web.Response:
        alert = await store.alert(sub_of(request), request.match_info["alert_id"])
        if alert is None:
            raise not_found("alert")
        return json_response(alert_data(alert))

    @routes.post("/v1/alerts/{alert_id}/ack")
    async def ack_alert(request: web.Request) -> web.Response:
        if not await store.acknowledge(sub_of(request), request.match_info["alert_id"]):
            raise not_found("alert")
        return json_response({"acknowledged": True})

    @routes.get("/v1/alerts/{alert_id}/deliveries")
    async def alert_deliveries(request: web.Request) -> web.Response:
        sub, alert_id = sub_of(request), request.match_info["alert_id"]
        if await store.alert(sub, alert_id) is None:
            raise not_found("alert")
        out = []
        for endpoint in await store.endpoints(sub):
            delivery = await store.delivery(f"{alert_id}.{endpoint.id}")
            if delivery is None:
                continue
            attempts = await store.attempts(delivery.id)
            out.append(
                {
                    "id": delivery.id,
                    "endpoint_id": endpoint.id,
                    "status": delivery.status,
                    "attempts": [{**asdict(a), "at": iso(a.at)} for a in attempts],
                    "next_attempt_at": iso(delivery.next_at) if delivery.status == "pending" else None,
                }
            )
        return json_response({"items": out})

    # reviews
    @routes.get("/v1/reviews")
    async def list_reviews(request: web.Request) -> web.Response:
        return json_response({"items": [review_json(r) for r in await store.reviews(sub_of(request))]})

    @routes.post("/v1/reviews")
    async def create_review(request: web.Request) -> web.Response:
        sub, data = sub_of(request), await body_json(request)
        only(data, {"watch_id", "source", "entry_key", "action", "reason", "expires_at"})
        action = field(data, "action", str)
        if action not in {"acknowledge", "false_positive", "suppress"}:
            raise ApiError(422, "invalid_field", "action must be acknowledge, false_positive or suppress")
        watch_id, source, entry_key = (field(data, n, str) for n in ("watch_id", "source", "entry_key"))
        reason = field(data, "reason", str)
        if not reason.strip() or len(reason) > 2000:
            raise ApiError(422, "invalid_field", "reason must be 1 to 2000 characters")
        expires = field(data, "expires_at", str, required=False)
        expires_at = parse_time(expires, "expires_at") if expires else None
        if expires_at is not None and expires_at <= now():
            raise ApiError(422, "invalid_field", "expires_at must be in the future")
        if await deps.watches.get(sub, watch_id) is None:
            raise not_found("watch entry")
        listed = await deps.lists.get(source, entry_key)
        if listed is None:
            raise not_found("list entry")
        review = Review(
            id="rev_" + uuid.uuid4().hex[:12],
            watch_id=watch_id,
            source=source,
            entry_key=entry_key,
            action=action,
            reason=reason.strip(),
            created_at=now(),
            expires_at=expires_at,
            entry_hash=material_hash(listed.entry),
        )
        await store.put_review(sub, review)
        return json_response(review_json(review), 201)

    @routes.delete("/v1/reviews/{review_id}")
    async def delete_review(request: web.Request) -> web.Response:
        if not await store.delete_review(sub_of(request), request.match_info["review_id"]):
            raise not_found("review")
        return web.Response(status=204)

    # delivery endpoints
    @routes.get("/v1/endpoints")
    async def list_endpoints(request: web.Request) -> web.Response:
        return json_response({"items": [endpoint_json(e) for e in await store.endpoints(sub_of(request))]})

    async def validated_endpoint(data: Mapping[str, Any], existing: Endpoint | None) -> Endpoint:
        only(data, {"type", "url", "address", "digest", "description", "enabled"})
        kind = field(data, "type", str) if existing is None else existing.type
        if existing is not None and "type" in data and data["type"] != existing.type:
            raise ApiError(422, "invalid_field", "an endpoint's type cannot change")
        description = field(data, "description", str, required=False) or (existing.description if existing else "")
        if len(description) > 500:
            raise ApiError(422, "invalid_field", "description must be at most 500 characters")
        enabled = field(data, "enabled", bool, required=False)
        if kind == "webhook":
            url = field(data, "url", str, required=existing is None) or (existing.target if existing else "")
            try:
                await check_url(url, settings.webhook_allow)
            except UnsafeUrl as exc:
                raise ApiError(422, "unsafe_url", str(exc)) from None
            endpoint = existing or Endpoint(
                id="ep_" + uuid.uuid4().hex[:12], type="webhook", target=url, created_at=now(), secret=new_secret()
            )
            endpoint.target = url
        elif kind == "email":
            address = field(data, "address", str, required=existing is None) or (existing.target if existing else "")
            if not _valid_address(address):
                raise ApiError(422, "invalid_field", f"address {address!r} is not an e-mail address")
            endpoint = existing or Endpoint(
                id="ep_" + uuid.uuid4().hex[:12], type="email", target=address, created_at=now()
            )
            endpoint.target = address
            digest_flag = field(data, "digest", bool, required=False)
            if digest_flag is not None:
                endpoint.digest = digest_flag
        elif kind == "apprise":
            from alerts.sinks.apprise import available, check_target

            target = field(data, "url", str, required=existing is None) or (existing.target if existing else "")
            if not available():
                raise ApiError(422, "channel_unavailable", "apprise endpoints need the apprise extra installed")
            if "://" not in target:
                raise ApiError(422, "invalid_field", "url must be an Apprise URL such as slack://… or msteams://…")
            try:
                await check_target(target, settings.webhook_allow)
            except UnsafeUrl as exc:
                raise ApiError(422, "unsafe_url", str(exc)) from None
            endpoint = existing or Endpoint(id="ep_" + uuid.uuid4().hex[:12], type="apprise", target=target,
                                            created_at=now())  # fmt: skip
            endpoint.target = target
        else:
            raise ApiError(422, "invalid_field", "type must be webhook, email or apprise")
        endpoint.description = description
        if enabled is not None:
            endpoint.enabled = enabled
            endpoint.disabled_reason = None if enabled else "disabled by the subscriber"
        return endpoint

    @routes.post("/v1/endpoints")
    async def create_endpoint(request: web.Request) -> web.Response:
        sub = sub_of(request)
        endpoint = await validated_endpoint(await body_json(request), None)
        await store.put_endpoint(sub, endpoint)
        out = endpoint_json(endpoint)
        if endpoint.secret:
            out["secret"] = endpoint.secret  # shown once
        return json_response(out, 201)

    @routes.get("/v1/endpoints/{endpoint_id}")
    async def get_endpoint(request: web.Request) -> web.Response:
        endpoint = await store.endpoint(sub_of(request), request.match_info["endpoint_id"])
        if endpoint is None:
            raise not_found("endpoint")
        return json_response(endpoint_json(endpoint))

    @routes.put("/v1/endpoints/{endpoint_id}")
    async def update_endpoint(request: web.Request) -> web.Response:
        sub = sub_of(request)
        existing = await store.endpoint(sub, request.match_info["endpoint_id"])
        if existing is None:
            raise not_found("endpoint")
        endpoint = await validated_endpoint(await body_json(request), existing)
        await store.put_endpoint(sub, endpoint)
        return json_response(endpoint_json(endpoint))

    @routes.delete("/v1/endpoints/{endpoint_id}")
    async def delete_endpoint(request: web.Request) -> web.Response:
        if not await store.delete_endpoint(sub_of(request), request.match_info["endpoint_id"]):
            raise not_found("endpoint")
        return web.Response(status=204)

    @routes.post("/v1/endpoints/{endpoint_id}/test")
    async def test_endpoint(request: web.Request) -> web.Response:
        sub = sub_of(request)
        endpoint = await store.endpoint(sub, request.match_info["endpoint_id"])
        if endpoint is None:
            raise not_found("endpoint")
        channel = deps.channels.get(endpoint.type)
        if channel is None:
            raise ApiError(409, "channel_unavailable", f"no {endpoint.type} channel is configured")
        alert = test_alert(sub)
        try:
            await channel.send(Message("test_" + uuid.uuid4().hex[:16], [alert], endpoint))
        except (DeliveryError, EndpointGone, SinkMisconfigured) as exc:
            return json_response({"delivered": False, "error": str(exc)}, 200)
        return json_response({"delivered": True})

    # replay and dead letters
    @routes.post("/v1/replay")
    async def replay(request: web.Request) -> web.Response:
        sub, data = sub_of(request), await body_json(request)
        only(data, {"since"})
        since = parse_time(field(data, "since", str), "since")
        ids: list[str] = []
        cursor: tuple[float, str] | None = None
        while page := await store.alerts_page(sub, since, None, cursor, 500):
            ids.extend(a.alert_id for _, a in page)
            cursor = (page[-1][0], page[-1][1].alert_id)
        return json_response({"alerts": len(ids), "deliveries": await deps.deliverer.replay(sub, ids)})

    @routes.get("/v1/dead-letters")
    async def dead_letters(request: web.Request) -> web.Response:
        sub = sub_of(request)
        items = []
        for delivery_id in await store.dead(sub):
            d = await store.delivery(delivery_id)
            if d is not None:
                items.append(
                    {
                        "id": d.id,
                        "alert_id": d.alert_id,
                        "endpoint_id": d.endpoint_id,
                        "attempts": d.attempts,
                        "last_error": d.last_error,
                    }
                )
        return json_response({"items": items})

    @routes.post("/v1/dead-letters/replay")
    async def replay_dead(request: web.Request) -> web.Response:
        return json_response({"deliveries": await deps.deliverer.replay_dead(sub_of(request))})

    @routes.get("/v1/openapi.json")
    async def openapi(request: web.Request) -> web.Response:
        from alerts.openapi import document

        return json_response(document(app.router))

    app = web.Application(middlewares=[error_middleware, auth_middleware(deps)], client_max_size=MAX_BODY)
    app.add_routes(routes)
    return app


def matches_filters(alert: Alert, q: Mapping[str, str], acked: set[str]) -> bool:
    if "source" in q and alert.source != q["source"]:
        return False
    if "kind" in q and alert.kind != q["kind"]:
        return False
    if "watch_id" in q and alert.watch_id != q["watch_id"]:
        return False
    if "acknowledged" in q:
        want = q["acknowledged"].lower() in {"1", "true", "yes"}
        if (alert.alert_id in acked) != want:
            return False
    return True


def encode_cursor(cursor: tuple[float, str]) -> str:
    return f"{cursor[0]!r}~{cursor[1]}"


def decode_cursor(text: str) -> tuple[float, str]:
    score, sep, alert_id = text.partition("~")
    try:
        value = float(score)
    except ValueError:
        value = None
    if value is None or not sep or not alert_id:
        raise ApiError(422, "invalid_field", "cursor is not one this API gave out")
    return value, alert_id


def review_json(review: Review) -> dict[str, Any]:
    data = asdict(review)
    data["created_at"], data["expires_at"] = iso(review.created_at), iso(review.expires_at)
    data.pop("entry_hash")
    return data


def endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    data = endpoint.public()
    data["created_at"] = iso(endpoint.created_at)
    return data


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _valid_address(address: str) -> bool:
    local, at, domain = address.partition("@")
    return bool(at and local and "." in domain and " " not in address and len(address) <= 254)


def test_alert(sub: str) -> Alert:
    from contracts.models import Entry

    stamp = datetime.now(UTC)
    return Alert(
        alert_id="test_" + uuid.uuid4().hex[:16],
        subscriber_id=sub,
        watch_id="test",
        watch_name="Example Co., Ltd.",
        source="test",
        entry_key="test",
        entry_name="EXAMPLE CO., LTD.",
        kind="added",
        before=None,
        after=Entry(key="test", name="EXAMPLE CO., LTD."),
        fields=[],
        score=1.0,
        reasons=["a test event sent on request"],
        change_event_id="test",
        observed_at=stamp,
        created_at=stamp,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response({"error": {"code": exc.code, "message": exc.message}}, exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "not_found" if exc.status == 404 else "method_not_allowed" if exc.status == 405 else "http_error"
        response = json_response({"error": {"code": code, "message": exc.reason}}, exc.status)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except TRANSIENT as exc:
        # Redis or Kafka is down or failing over: the client should try again shortly, nothing was lost.
        log.warning("%s %s: dependency unavailable: %s: %s", request.method, request.path, type(exc).__name__, exc)
        response = json_response(
            {"error": {"code": "unavailable", "message": "temporarily unavailable; retry shortly"}}, 503
        )
        response.headers["Retry-After"] = "2"
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"error": {"code": "internal", "message": "internal error"}}, 500)


def auth_middleware(deps: Deps) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/v1/openapi.json" or not request.path.startswith("/v1/"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <api key>")
        token = token.strip()
        admin = deps.settings.admin_token
        is_admin = admin is not None and hmac.compare_digest(token.encode(), str(admin).encode())
        if request.path.startswith("/v1/subscribers"):
            if not is_admin:
                raise ApiError(403, "forbidden", "only the administrator manages subscribers")
            return await handler(request)
        sub = await deps.store.authenticate(token)
        if sub is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API key")
        request[SUBSCRIBER] = sub
        return await handler(request)

    return middleware
