"""The protocols every alert sink implements, the message it delivers, and its failures.

``Sink`` is what every sink does (send, close); operators' sinks (console, file) are only that. A ``Channel``
is a sink that subscribers point endpoints at: it names the field that holds its target, checks a target
(the SSRF guard for network channels), and states its delivery policy. A new channel is one module here
plus one line in ``alerts/sinks/__init__.py``: the API, the delivery rules and the OpenAPI follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

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


class InvalidTarget(ValueError):
    """An endpoint's target is malformed or not allowed; the message says why."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How the delivery engine treats a channel's deliveries."""

    # The API field that holds the target: a URL or an e-mail address.
    target_field: Literal["url", "address"]
    # Endpoints get a signing secret, shown once.
    signed: bool = False
    # Over a burst of alerts per window (or when the endpoint asks for it), alerts gather into a digest.
    digests: bool = False
    # Deliveries per subscriber per second are capped (LISTWATCH_WEBHOOK_RATE).
    rate_limited: bool = False


class Channel(Sink, Protocol):
    policy: Policy

    async def check_target(self, target: str) -> str:
        """The target as it will be stored, or InvalidTarget; called on creation and again before sending."""
