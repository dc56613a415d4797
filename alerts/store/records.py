"""The records the alerts store keeps (as JSON in Redis)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from alerts.store.base import now


@dataclass
class ApiKey:
    id: str
    created_at: float
    last4: str
    revoked_at: float | None = None


@dataclass
class Endpoint:
    id: str
    type: str  # "webhook" or "email"
    target: str  # URL or e-mail address
    created_at: float
    secret: str | None = None  # whsec_… for webhooks
    digest: bool = False  # e-mail: always send digests
    enabled: bool = True
    disabled_reason: str | None = None
    description: str = ""

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("secret")
        return data


@dataclass
class Review:
    id: str
    watch_id: str
    source: str
    entry_key: str
    action: str  # "acknowledge", "false_positive" or "suppress"
    reason: str
    created_at: float
    expires_at: float | None
    entry_hash: str


@dataclass
class Delivery:
    id: str
    subscriber_id: str
    alert_id: str
    endpoint_id: str
    status: str = "pending"  # pending, delivered, dead, dropped
    attempts: int = 0
    next_at: float = 0.0
    created_at: float = field(default_factory=now)
    delivered_at: float | None = None
    last_error: str | None = None
    # The alert ids of a digest delivery; empty for a single alert.
    digest_of: list[str] = field(default_factory=list)


@dataclass
class Attempt:
    at: float
    outcome: str  # "delivered", "failed", "gone", "misconfigured"
    status: int | None
    error: str | None
    duration_s: float
