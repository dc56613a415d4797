"""The API's small framework: routes declared with their typed models, errors in one place, the OpenAPI
document written from the same declarations, so validation and documentation cannot drift.

A route declares its request body, query and response models (pydantic); the wrapper validates the body
(strictly: a string where the schema says list, or null where it says string, is a 422) and the query (from
strings), calls the handler with them and the path parameters, and serialises what it returns.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from contracts.clients import TRANSIENT

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
Handler = Callable[..., Awaitable[Any]]
RawHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


class Auth(StrEnum):
    NONE = "none"
    ADMIN = "admin"
    SUBSCRIBER = "subscriber"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: Auth
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    raw_body: str | None  # a non-JSON body's media type (the CSV import), read by the handler itself


class Router:
    """The routes of one resource module."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def route(
        self, method: str, path: str, *, summary: str, status: int = 200, auth: Auth = Auth.SUBSCRIBER,
        body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None, raw_body: str | None = None,
    ) -> Callable[[Handler], Handler]:  # fmt: skip
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, path, handler, summary, self.tag, auth, status, body, query, response,
                                     raw_body))  # fmt: skip
            return handler

        return register


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)


def _validation_error(exc: ValidationError, where: str) -> ApiError:
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    loc = ".".join(str(p) for p in first["loc"]) or where
    if kind == "json_invalid":
        return ApiError(400, "invalid_json", f"request body is not JSON: {first['msg']}")
    if kind == "model_type" and not first["loc"]:
        return ApiError(400, "invalid_json", "request body must be a JSON object")
    if kind == "missing":
        return ApiError(422, "missing_field", f"field {loc!r} is required")
    if kind == "extra_forbidden":
        return ApiError(422, "unknown_field", f"unknown field {loc!r} in the {where}")
    return ApiError(422, "invalid_field", f"{loc}: {first['msg']}")


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", f"request body above {MAX_BODY} bytes")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "too_large", f"request body above {MAX_BODY} bytes") from None


def _wrap(route: Route, context: Callable[[web.Request], Any]) -> RawHandler:
    accepted = set(inspect.signature(route.handler).parameters)

    async def handle(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {name: value for name, value in request.match_info.items() if name in accepted}
        if route.body is not None:
            raw = await read_body(request)
            try:
                kwargs["body"] = route.body.model_validate_json(raw or b"null", strict=True)
            except ValidationError as exc:
                raise _validation_error(exc, "body") from None
        if route.query is not None:
            try:
                kwargs["query"] = route.query.model_validate(dict(request.query))
            except ValidationError as exc:
                raise _validation_error(exc, "query") from None
        elif request.query:
            raise ApiError(422, "unknown_field", f"unknown query parameter(s): {', '.join(sorted(request.query))}")
        if "request" in accepted:
            kwargs["request"] = request
        result = await route.handler(context(request), **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        if isinstance(result, BaseModel):
            return web.Response(body=result.model_dump_json(by_alias=True).encode(), status=route.status,
                                content_type="application/json")  # fmt: skip
        return json_response(result, route.status)

    return handle


def mount(app: web.Application, routers: Sequence[Router], context: Callable[[web.Request], Any]) -> list[Route]:
    routes = [r for router in routers for r in router.routes]
    for route in routes:
        app.router.add_route(route.method, route.path, _wrap(route, context))
    return routes


@web.middleware
async def error_middleware(request: web.Request, handler: RawHandler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response({"error": {"code": exc.code, "message": exc.message}}, exc.status, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "not_found" if exc.status == 404 else "method_not_allowed" if exc.status == 405 else "http_error"
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return json_response({"error": {"code": code, "message": exc.reason}}, exc.status, headers)
    except TRANSIENT as exc:
        # Redis or Kafka is down or failing over: the client should try again shortly, nothing was lost.
        log.warning("%s %s: dependency unavailable: %s: %s", request.method, request.path, type(exc).__name__, exc)
        body = {"error": {"code": "unavailable", "message": "temporarily unavailable; retry shortly"}}
        return json_response(body, 503, {"Retry-After": "2"})
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"error": {"code": "internal", "message": "internal error"}}, 500)


# -- OpenAPI, from the same declarations -----------------------------------------------------------------

_PARAM = re.compile(r"{(\w+)}")
_ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                             "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
}  # fmt: skip


def openapi(routes: Sequence[Route], title: str, version: str) -> dict[str, Any]:
    models: dict[type[BaseModel], Any] = {}
    for r in routes:
        if r.body is not None:
            models[r.body] = "validation"
        if r.response is not None:
            models.setdefault(r.response, "serialization")
    _, defs = models_json_schema([(m, mode) for m, mode in models.items()],
                                 ref_template="#/components/schemas/{model}")  # fmt: skip
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Error": _ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag], "operationId": r.handler.__name__}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in _PARAM.findall(r.path)]  # fmt: skip
        if r.query is not None:
            schema = r.query.model_json_schema(ref_template="#/components/schemas/{model}")
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{r.body.__name__}"}}}}
        elif r.raw_body is not None:
            op["requestBody"] = {"required": True, "content": {r.raw_body: {"schema": {"type": "string"}}}}
        ok: dict[str, Any] = {"description": "success"}
        if r.response is not None:
            ok["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{r.response.__name__}"}}}
        op["responses"] = {
            str(r.status): ok,
            "default": {"description": "an error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        }  # fmt: skip
        if r.auth is not Auth.NONE:
            op["security"] = [{"bearer": []}]
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
