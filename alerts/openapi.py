"""The OpenAPI 3.1 document of the subscriptions API, built from the routes that are really registered."""

from __future__ import annotations

from typing import Any

from aiohttp import web

# "METHOD /path" -> (summary, request body schema or None, success status)
_OPS: dict[str, tuple[str, str | None, int]] = {
    "POST /v1/subscribers": ("Create a subscriber and its first API key (administrator)", "SubscriberCreate", 201),
    "GET /v1/subscribers": ("List subscribers (administrator)", None, 200),
    "GET /v1/me": ("The authenticated subscriber", None, 200),
    "PUT /v1/me/threshold": ("Set the match threshold for this subscriber", "Threshold", 200),
    "GET /v1/keys": ("List API keys (never the keys themselves)", None, 200),
    "POST /v1/keys": ("Create an API key; it is shown once", None, 201),
    "DELETE /v1/keys/{key_id}": ("Revoke an API key", None, 204),
    "POST /v1/keys/{key_id}/rotate": ("Replace an API key by a new one", None, 201),
    "GET /v1/watchlist": ("List watched companies", None, 200),
    "POST /v1/watchlist": ("Watch a company; it is screened against the current lists at once", "WatchEntry", 201),
    "GET /v1/watchlist/{watch_id}": ("One watched company", None, 200),
    "PUT /v1/watchlist/{watch_id}": ("Create or replace a watched company", "WatchEntry", 200),
    "DELETE /v1/watchlist/{watch_id}": ("Stop watching a company", None, 204),
    "POST /v1/watchlist/import": ("Import a watchlist CSV (text/csv); answers with a per-row report", None, 200),
    "GET /v1/status": ("Where every watched company stands now, per list", None, 200),
    "GET /v1/alerts": ("Alert history: filters source, kind, watch_id, since, until, acknowledged; cursor paging",
                       None, 200),
    "GET /v1/alerts/{alert_id}": ("One alert", None, 200),
    "POST /v1/alerts/{alert_id}/ack": ("Acknowledge an alert", None, 200),
    "GET /v1/alerts/{alert_id}/deliveries": ("Delivery attempts of an alert, per endpoint", None, 200),
    "GET /v1/reviews": ("List reviews (acknowledgements, false positives, suppressions)", None, 200),
    "POST /v1/reviews": ("Review a (watch entry, list entry) pair", "Review", 201),
    "DELETE /v1/reviews/{review_id}": ("Withdraw a review", None, 204),
    "GET /v1/endpoints": ("List delivery endpoints", None, 200),
    "POST /v1/endpoints": ("Add a webhook or e-mail endpoint; a webhook's signing secret is shown once",
                           "Endpoint", 201),
    "GET /v1/endpoints/{endpoint_id}": ("One endpoint", None, 200),
    "PUT /v1/endpoints/{endpoint_id}": ("Change an endpoint (URL, address, digest, enabled)", "Endpoint", 200),
    "DELETE /v1/endpoints/{endpoint_id}": ("Remove an endpoint", None, 204),
    "POST /v1/endpoints/{endpoint_id}/test": ("Send a test event now", None, 200),
    "POST /v1/replay": ("Deliver again every alert since a time", "Replay", 200),
    "GET /v1/dead-letters": ("Deliveries given up after the last attempt", None, 200),
    "POST /v1/dead-letters/replay": ("Deliver the dead letters again", None, 200),
    "GET /v1/openapi.json": ("This document", None, 200),
}  # fmt: skip

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "SubscriberCreate": {"type": "object", "required": ["name"], "additionalProperties": False,
                         "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}}},
    "Threshold": {"type": "object", "required": ["threshold"], "additionalProperties": False,
                  "properties": {"threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}}},
    "WatchEntry": {"type": "object", "required": ["id", "name"], "additionalProperties": False, "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 500},
        "alt_names": {"type": "array", "items": {"type": "string"}},
        "country": {"type": "string", "description": "country name or ISO code; stored as ISO 3166-1 alpha-2"},
        "uscc": {"type": "string", "description": "Unified Social Credit Code, checked"},
        "lei": {"type": "string", "description": "Legal Entity Identifier, checked"},
        "tags": {"type": "array", "items": {"type": "string"}}}},
    "Review": {"type": "object", "required": ["watch_id", "source", "entry_key", "action", "reason"],
               "additionalProperties": False, "properties": {
        "watch_id": {"type": "string"}, "source": {"type": "string"}, "entry_key": {"type": "string"},
        "action": {"enum": ["acknowledge", "false_positive", "suppress"]},
        "reason": {"type": "string", "minLength": 1, "maxLength": 2000},
        "expires_at": {"type": "string", "format": "date-time"}}},
    "Endpoint": {"type": "object", "additionalProperties": False, "properties": {
        "type": {"enum": ["webhook", "email", "apprise"]}, "url": {"type": "string", "format": "uri"},
        "address": {"type": "string", "format": "email"}, "digest": {"type": "boolean"},
        "description": {"type": "string", "maxLength": 500}, "enabled": {"type": "boolean"}}},
    "Replay": {"type": "object", "required": ["since"], "additionalProperties": False,
               "properties": {"since": {"type": "string", "format": "date-time"}}},
}  # fmt: skip


def document(router: web.UrlDispatcher) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method == "HEAD":
            continue
        summary, body, status = _OPS.get(f"{route.method} {path}", (route.handler.__name__, None, 200))
        op: dict[str, Any] = {
            "summary": summary,
            "operationId": route.handler.__name__,
            "responses": {
                str(status): {"description": "success"},
                "4XX": {"description": "bad input, unknown or forbidden resource",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }  # fmt: skip
        if path != "/v1/openapi.json":
            op["security"] = [{"bearer": []}]
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
            ]
        if body:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
            }
        if path == "/v1/watchlist/import":
            op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "listwatch subscriptions API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a subscriber's API key, or the administrator's token"}},
        },
    }  # fmt: skip
