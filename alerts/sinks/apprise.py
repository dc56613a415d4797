"""Apprise: Slack, Teams, Telegram, Matrix, … through one URL per endpoint (``slack://…``, ``msteams://…``).

An optional extra (``pip install 'listwatch[apprise]'``): endpoints of type ``apprise`` are refused by the
API when the package is missing. Apprise reports only success or failure, so every failure is retried.
"""

from __future__ import annotations

from alerts.events import summary, text_body
from alerts.sinks.base import DeliveryError, Message, SinkMisconfigured


def available() -> bool:
    try:
        import apprise  # noqa: F401
    except ImportError:
        return False
    return True


class AppriseSink:
    name = "apprise"

    async def send(self, message: Message) -> None:
        try:
            import apprise
        except ImportError:
            raise SinkMisconfigured("the apprise package is not installed (pip install 'listwatch[apprise]')") from None
        if message.endpoint is None:
            raise SinkMisconfigured("apprise delivery without an endpoint")
        notifier = apprise.Apprise()
        if not notifier.add(message.endpoint.target):
            raise SinkMisconfigured(f"apprise does not understand the URL of endpoint {message.endpoint.id}")
        alerts = message.alerts
        title = summary(alerts[0]) if len(alerts) == 1 else f"{len(alerts)} list changes"
        if not await notifier.async_notify(title=f"[listwatch] {title}", body=text_body(alerts)):
            raise DeliveryError("apprise reported a failed notification")

    async def aclose(self) -> None:
        return None
