"""Sign-in with an API key, the session cookie, CSRF on every form, sign-out.

The key is exchanged once for a random session id (cookie ``lw_session``: HttpOnly, SameSite=Strict, path
/app, Max-Age ``LISTWATCH_WEB_SESSION_TTL_S``, Secure over HTTPS); Redis keeps only its hash. Every form
carries the session's CSRF token; the sign-in form, before any session, a double-submit token. Failed keys
count against the same per-address limit as the API's, then the page answers 429.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from alerts.api.deps import SUBSCRIBER
from alerts.web.render import SESSION, SIGNIN_CSRF, Pages, see_other

COOKIE = "lw_session"
SIGNIN_COOKIE = "lw_signin"
_PUBLIC = ("/app/signin", "/app/static/")


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/app", httponly=True, samesite="Strict",
                        secure=request.secure)  # fmt: skip


def middleware(pages: Pages) -> Middleware:
    store = pages.deps.store

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/app/") or request.path.startswith(_PUBLIC):
            return await handler(request)
        session_id = request.cookies.get(COOKIE, "")
        data = await store.session(session_id) if session_id else None
        if data is None:
            if request.method == "GET":
                raise see_other(f"/app/signin?next={quote(request.path_qs, safe='')}")
            raise see_other("/app/signin")
        if request.method == "POST":
            form = await request.post()
            token = str(form.get("csrf", ""))
            if not hmac.compare_digest(token.encode(), str(data["csrf"]).encode()):
                return pages.render(request, "error.html", status=403, title="Form expired",
                                    message="This form is out of date. Go back, reload the page and try again.")
        request[SUBSCRIBER] = data["sub"]
        request[SESSION] = data
        return await handler(request)

    return check


async def home(request: web.Request) -> web.StreamResponse:
    raise see_other("/app/alerts")


def routes(app: web.Application, pages: Pages) -> None:
    deps = pages.deps
    store = deps.store

    def failures(request: web.Request) -> str:
        return f"authfail:{request.remote or 'unknown'}"

    def form(request: web.Request, status: int = 200, **values: Any) -> web.Response:
        token = secrets.token_urlsafe(24)
        request[SIGNIN_CSRF] = token
        response = pages.render(request, "signin.html", status=status, **values)
        _cookie(response, request, SIGNIN_COOKIE, token, 3600)
        return response

    async def signin_page(request: web.Request) -> web.StreamResponse:
        return form(request, next=_safe_next(request.query.get("next", "")))

    async def signin(request: web.Request) -> web.StreamResponse:
        data = await request.post()
        nxt = _safe_next(str(data.get("next", "")))
        expected = request.cookies.get(SIGNIN_COOKIE, "")
        if not expected or not hmac.compare_digest(str(data.get("csrf", "")).encode(), expected.encode()):
            return form(request, 403, next=nxt, error="The sign-in form expired; please try again.")
        if await store.peek_window(failures(request), 60.0) >= deps.settings.auth_failures_per_min:
            wait = max(1, 60 - int(time.time()) % 60)
            response = form(request, 429, next=nxt, error=f"Too many wrong keys. Wait {wait} seconds and retry.")
            response.headers["Retry-After"] = str(wait)
            return response
        signed = await store.sign_in(str(data.get("api_key", "")).strip(), deps.settings.web_session_ttl_s)
        if signed is None:
            await store.count_in_window(failures(request), 60.0)
            return form(request, 401, next=nxt, error="That API key is not valid (unknown or revoked).")
        session_id, _ = signed
        response = web.HTTPSeeOther(nxt or "/app/alerts")
        _cookie(response, request, COOKIE, session_id, deps.settings.web_session_ttl_s)
        response.del_cookie(SIGNIN_COOKIE, path="/app")
        raise response

    async def signout(request: web.Request) -> web.StreamResponse:
        await store.sign_out(request.cookies.get(COOKIE, ""))
        response = web.HTTPSeeOther("/app/signin")
        response.del_cookie(COOKIE, path="/app")
        raise response

    app.router.add_get("/app/signin", signin_page)
    app.router.add_post("/app/signin", signin)
    app.router.add_post("/app/signout", signout)


def _safe_next(value: str) -> str:
    """Only a path of these pages: never another site after sign-in."""
    return value if value.startswith("/app/") and not value.startswith("//") and "\\" not in value else ""
