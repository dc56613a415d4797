"""Templates, and what every page is handed: the dependencies, the caller, and small formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from alerts.api.deps import SUBSCRIBER, Ctx, Deps

SESSION = web.RequestKey("session", dict)
# The sign-in form's double-submit token (before any session exists).
SIGNIN_CSRF = web.RequestKey("signin_csrf", str)
TEMPLATES = Path(__file__).parent / "templates"

# What a list kind means for a company on it, in words (never by colour alone).
STANDING = {
    "sanction": "sanctioned", "export-control": "export control", "debarment": "debarred",
    "countermeasure": "black list", "black list": "black list", "red list": "red list",
}  # fmt: skip
STATUSES = ("sanctioned", "export control", "debarred", "black list", "red list", "clear")


def show(value: Any) -> str:
    """A field's value as a person reads it: lists joined, identifiers as "scheme value", nothing as a dash."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(show(v) for v in value)
    if isinstance(value, dict):
        if {"scheme", "value"} <= value.keys():
            return f"{value['scheme']} {value['value']}"
        return "; ".join(f"{k}: {show(v)}" for k, v in value.items())
    return str(value)


def when(ts: float | datetime | None) -> str:
    if ts is None:
        return "—"
    moment = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class Pages:
    deps: Deps

    def __post_init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)  # fmt: skip
        self.env.filters["when"] = when
        self.env.filters["show"] = show

    def ctx(self, request: web.Request) -> Ctx:
        return Ctx(self.deps, request)

    def render(self, request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
        session = request.get(SESSION)
        html = self.env.get_template(template).render(
            session=session, csrf=session["csrf"] if session else request.get(SIGNIN_CSRF, ""),
            path=request.path, **values,
        )  # fmt: skip
        response = web.Response(text=html, content_type="text/html", status=status)
        response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self'; img-src 'self' data:"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response


def sub_of(request: web.Request) -> str:
    return request[SUBSCRIBER]


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)
