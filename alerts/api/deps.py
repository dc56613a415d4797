"""What every resource module is handed: the service's stores and channels, and the caller."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import overload

from aiohttp import web

from alerts.api.base import ApiError
from alerts.delivery import Deliverer
from alerts.settings import AlertsSettings
from alerts.sinks.base import Channel
from alerts.store import AlertStore
from contracts.models import WatchEvent
from streams.list_state import ListStateStore
from streams.watchlists import WatchlistStore

PublishWatchEvents = Callable[[list[WatchEvent]], Awaitable[None]]
SUBSCRIBER = web.RequestKey("subscriber", str)


@dataclass(frozen=True)
class Deps:
    settings: AlertsSettings
    store: AlertStore
    watches: WatchlistStore
    lists: ListStateStore
    deliverer: Deliverer
    channels: Mapping[str, Channel]
    publish_watch_events: PublishWatchEvents


@dataclass(frozen=True, slots=True)
class Ctx:
    deps: Deps
    request: web.Request

    @property
    def sub(self) -> str:
        """The authenticated subscriber (set by the auth middleware on subscriber routes)."""
        return self.request[SUBSCRIBER]


@overload
def at(ts: float) -> datetime: ...
@overload
def at(ts: None) -> None: ...
@overload
def at(ts: float | None) -> datetime | None: ...
def at(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def score_cursor(score: float, member: str) -> str:
    return f"{score!r}~{member}"


def parse_score_cursor(text: str) -> tuple[float, str]:
    """A (score, member) cursor this API gave out; anything else (``nan~x`` included) is a 422."""
    score, sep, member = text.partition("~")
    try:
        value = float(score)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or not sep or not member:
        raise ApiError(422, "invalid_field", "cursor is not one this API gave out")
    return value, member
