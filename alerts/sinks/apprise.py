"""Apprise: Slack, Teams, Telegram, Matrix, … through one URL per endpoint (``slack://…``, ``msteams://…``).

An optional extra (``pip install 'listwatch[apprise]'``): endpoints of type ``apprise`` are refused by the
API when the package is missing. Apprise reports only success or failure, so every failure is retried.

Its targets pass the same SSRF guard as webhooks. Only the schemes below are accepted: services that Apprise
sends to at a fixed public host of the vendor, and self-hosted kinds whose URL names the host contacted,
which must resolve to allowed addresses (checked at creation and again before each send). Redirects are
never followed. Apprise does its own HTTP requests, so the connection cannot be pinned to the checked address
as the webhook sink's is: a DNS answer that changes between the check and the request stays possible.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from alerts.events import summary, text_body
from alerts.netsafety import Network, UnsafeUrl, resolve_allowed
from alerts.sinks.base import DeliveryError, InvalidTarget, Message, Policy, SinkMisconfigured

# Apprise sends these to the vendor's own public host, whatever the URL holds (tokens, ids).
FIXED_HOST = frozenset({"slack", "msteams", "discord", "tgram", "pover", "opsgenie", "pagerduty", "workflow"})
# These contact the host named in the URL: it is checked like a webhook's.
NAMED_HOST = frozenset({
    "json", "jsons", "form", "forms", "xml", "xmls", "mmost", "mmosts", "ntfy", "ntfys", "matrix", "matrixs",
    "rocket", "rockets", "gotify", "gotifys",
})  # fmt: skip


def available() -> bool:
    try:
        import apprise  # noqa: F401
    except ImportError:
        return False
    return True


def _load(url: str) -> Any:
    try:
        import apprise
    except ImportError:
        raise SinkMisconfigured("the apprise package is not installed (pip install 'listwatch[apprise]')") from None
    scheme = url.partition("://")[0].lower()
    if scheme not in FIXED_HOST | NAMED_HOST:
        supported = ", ".join(sorted(FIXED_HOST | NAMED_HOST))
        raise UnsafeUrl(f"apprise scheme {scheme!r} is not supported here (supported: {supported})")
    server = apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset(http_redirects=False))
    if server is None:
        raise UnsafeUrl("apprise does not understand this URL")
    server.redirects = False  # a "?redirect=yes" in the URL must not turn it back on
    return server


async def load_checked(url: str, allow: Sequence[Network]) -> Any:
    """The Apprise notifier for ``url`` once its target is known to be allowed; UnsafeUrl otherwise."""
    server = _load(url)
    if url.partition("://")[0].lower() in NAMED_HOST:
        host = getattr(server, "host", None)
        if not host:
            raise UnsafeUrl("apprise URL has no host")
        await resolve_allowed(str(host), int(getattr(server, "port", None) or 443), allow, "apprise")
    return server


class AppriseSink:
    name = "apprise"
    policy = Policy(target_field="url")

    def __init__(self, allow: Sequence[Network]) -> None:
        self._allow = tuple(allow)

    async def check_target(self, target: str) -> str:
        if not available():
            raise InvalidTarget("apprise endpoints need the apprise extra installed (pip install 'listwatch[apprise]')")
        if "://" not in target:
            raise InvalidTarget("url must be an Apprise URL such as slack://… or msteams://…")
        try:
            await load_checked(target, self._allow)
        except UnsafeUrl as exc:
            raise InvalidTarget(str(exc)) from None
        return target

    async def send(self, message: Message) -> None:
        if message.endpoint is None:
            raise SinkMisconfigured("apprise delivery without an endpoint")
        try:
            server = await load_checked(message.endpoint.target, self._allow)
        except UnsafeUrl as exc:
            raise SinkMisconfigured(str(exc)) from None
        alerts = message.alerts
        title = summary(alerts[0]) if len(alerts) == 1 else f"{len(alerts)} list changes"
        # Apprise's plugins block (requests): run them off the event loop.
        ok = await asyncio.to_thread(server.notify, title=f"[listwatch] {title}", body=text_body(alerts))
        if not ok:
            raise DeliveryError("apprise reported a failed notification")

    async def aclose(self) -> None:
        return None
