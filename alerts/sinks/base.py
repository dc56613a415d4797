"""The one protocol every alert channel implements, and its two kinds of failure."""

from __future__ import annotations

from typing import Protocol

from streams.models import Alert


class DeliveryError(Exception):
    """This delivery failed (receiver down, timeout, 5xx): retry later, then dead-letter."""


class SinkMisconfigured(Exception):
    """The sink cannot work at all (bad URL, bad credentials): disable it and say so."""


class Sink(Protocol):
    # Short channel name used in logs, metrics and delivery records ("webhook", "email", "console").
    name: str

    async def send(self, alert: Alert) -> None:
        """Deliver one alert or raise DeliveryError / SinkMisconfigured."""

    async def aclose(self) -> None:
        """Release connections; called once when the service stops."""
