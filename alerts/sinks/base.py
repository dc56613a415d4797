"""The one protocol every alert channel implements, the message it delivers, and its failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from contracts.models import Alert

if TYPE_CHECKING:
    from alerts.store import Endpoint


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery: an alert (or a digest of several) to one endpoint. ``id`` stays the same on every
    retry (it is the webhook-id)."""

    id: str
    alerts: list[Alert]
    endpoint: Endpoint | None = None


class DeliveryError(Exception):
    """This delivery failed (receiver down, timeout, 5xx): retry later, then dead-letter."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class EndpointGone(Exception):
    """The receiver said 410 Gone: disable the endpoint, stop retrying."""


class SinkMisconfigured(Exception):
    """The sink cannot work at all (bad URL, unsafe address, bad credentials): disable it and say so."""


class Sink(Protocol):
    # Short channel name used in logs, metrics and delivery records ("webhook", "email", "console").
    name: str

    async def send(self, message: Message) -> None:
        """Deliver or raise DeliveryError / EndpointGone / SinkMisconfigured."""

    async def aclose(self) -> None:
        """Release connections; called once when the service stops."""
