"""The subscriptions API (aiohttp, versioned under /v1): what a subscribing company touches.

One module per resource, each a ``Router`` of routes declared with their models (``models.py``); this module
mounts them, authenticates, and serves the OpenAPI document written from the same declarations.

Every route but the OpenAPI document needs ``Authorization: Bearer <key>``: the administrator's token for
/v1/subscribers, a subscriber's API key for the rest. A subscriber only ever reaches its own data: every
lookup is keyed by the authenticated subscriber, so another subscriber's ids answer 404. Bad input gets a
4xx with ``{"error": {"code", "message"}}``; an outage a 503 with Retry-After; never a 500. Failed key
attempts from one address are limited (``LISTWATCH_AUTH_FAILURES_PER_MIN``), then answered 429.
"""

from __future__ import annotations

import hmac
import time

from aiohttp import web
from aiohttp.typedefs import Middleware

from alerts.api import endpoints, history, replay, reviews, subscribers, watchlist
from alerts.api.base import MAX_BODY, ApiError, Auth, RawHandler, Route, error_middleware, json_response, mount, openapi
from alerts.api.deps import SUBSCRIBER, Ctx, Deps

__all__ = ["Deps", "build_api"]

ROUTERS = (subscribers.router, watchlist.router, history.router, reviews.router, endpoints.router, replay.router)


def build_api(deps: Deps) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    routes = mount(app, ROUTERS, lambda request: Ctx(deps, request))
    document = openapi(routes, "listwatch subscriptions API", "1")
    document["paths"]["/v1/openapi.json"] = {"get": {"summary": "This document", "tags": ["meta"],
                                                     "operationId": "openapi",
                                                     "responses": {"200": {"description": "OpenAPI 3.1"}}}}  # fmt: skip

    async def serve_openapi(_: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/v1/openapi.json", serve_openapi)
    app.middlewares.extend([error_middleware, auth_middleware(deps, routes)])
    return app


def auth_middleware(deps: Deps, routes: list[Route]) -> Middleware:
    admin_paths = {r.path for r in routes if r.auth is Auth.ADMIN}

    def failures(request: web.Request) -> str:
        return f"authfail:{request.remote or 'unknown'}"

    async def refuse_if_throttled(request: web.Request) -> None:
        """Past the limit of failed attempts in this minute, every attempt from the address gets 429, so a
        guess is never confirmed by the answer."""
        if await deps.store.peek_window(failures(request), 60.0) >= deps.settings.auth_failures_per_min:
            retry = str(max(1, 60 - int(time.time()) % 60))
            raise ApiError(429, "too_many_attempts", "too many failed API key attempts; wait and retry",
                           {"Retry-After": retry})  # fmt: skip

    async def failed(request: web.Request) -> None:
        await deps.store.count_in_window(failures(request), 60.0)

    @web.middleware
    async def middleware(request: web.Request, handler: RawHandler) -> web.StreamResponse:
        if request.path == "/v1/openapi.json" or not request.path.startswith("/v1/"):
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <api key>")
        await refuse_if_throttled(request)
        resource = request.match_info.route.resource
        if resource is not None and resource.canonical in admin_paths:
            admin = deps.settings.admin_token
            if admin is not None and hmac.compare_digest(token.encode(), admin.reveal().encode()):
                return await handler(request)
            await failed(request)
            raise ApiError(403, "forbidden", "only the administrator manages subscribers")
        sub = await deps.store.authenticate(token)
        if sub is None:
            await failed(request)
            raise ApiError(401, "unauthorized", "unknown or revoked API key")
        request[SUBSCRIBER] = sub
        return await handler(request)

    return middleware
