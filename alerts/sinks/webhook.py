"""Signed webhooks: Standard Webhooks headers (``standardwebhooks`` package), CloudEvents 1.0 JSON body.

Every attempt of one delivery carries the same ``webhook-id`` (the alert id, or the digest's id), so a
receiver that saw it before can drop it. 2xx is success; 410 Gone disables the endpoint; anything else
(other statuses, timeouts, refused connections) is retried on the schedule, honouring ``Retry-After``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import aiohttp
from standardwebhooks import Webhook

from alerts.events import cloudevents_json
from alerts.netsafety import GuardedResolver, UnsafeUrl, check_url
from alerts.settings import AlertsSettings
from alerts.sinks.base import DeliveryError, EndpointGone, InvalidTarget, Message, Policy, SinkMisconfigured
from contracts.http import retry_after_seconds


def signed_request(message_id: str, secret: str, body: bytes, at: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/cloudevents+json",
    }


def body_for(message: Message, prefix: str) -> bytes:
    """One alert: one CloudEvent. A digest: a CloudEvents JSON batch (an array)."""
    return cloudevents_json(message.alerts, prefix)


class WebhookSink:
    name = "webhook"
    policy = Policy(target_field="url", signed=True, rate_limited=True)

    def __init__(self, settings: AlertsSettings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        # Target URL -> until when its check before a send holds (see ``_check``).
        self._checked: dict[str, float] = {}

    async def check_target(self, target: str) -> str:
        try:
            await check_url(target, self._settings.webhook_allow)
        except UnsafeUrl as exc:
            raise InvalidTarget(str(exc)) from None
        return target

    def _client(self) -> aiohttp.ClientSession:
        # Its own session: every connection resolves through the SSRF guard, and cookies never carry over.
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._settings.webhook_allow))
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def send(self, message: Message) -> None:
        endpoint = message.endpoint
        if endpoint is None or endpoint.secret is None:
            raise SinkMisconfigured("webhook delivery without an endpoint and its secret")
        await self._check(endpoint.target)
        body = body_for(message, self._settings.event_type_prefix)
        headers = signed_request(message.id, endpoint.secret, body, datetime.now(UTC))
        try:
            async with self._client().post(
                endpoint.target, data=body, headers=headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._settings.webhook_timeout_s),
            ) as resp:  # fmt: skip
                await resp.read()
                if 200 <= resp.status < 300:
                    return
                if resp.status == 410:
                    raise EndpointGone(f"{endpoint.target} answered 410 Gone")
                raise DeliveryError(
                    f"HTTP {resp.status}", status=resp.status,
                    retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
                )  # fmt: skip
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None

    async def _check(self, target: str) -> None:
        """The SSRF check before a send, remembered for a minute per URL: an address's verdict never changes,
        and a name's connections go through ``GuardedResolver`` whatever it resolves to meanwhile (the check
        here turns a name gone private into a disabled endpoint rather than retried refusals)."""
        at = time.monotonic()
        if self._checked.get(target, 0.0) > at:
            return
        try:
            await check_url(target, self._settings.webhook_allow)
        except UnsafeUrl as exc:
            raise SinkMisconfigured(str(exc)) from None
        if len(self._checked) >= 10_000:
            self._checked.clear()
        self._checked[target] = at + 60.0

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
