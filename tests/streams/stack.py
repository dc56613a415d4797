"""The stream stages over the test's Redis namespace, as the worker builds them (streams/app.py)."""

from __future__ import annotations

from redis.asyncio import Redis

from contracts.settings import CommonSettings
from streams.bilingual import BilingualStore
from streams.dedupe.store import DedupeStore
from streams.list_state import ListStateStore
from streams.metrics import StreamsMetrics
from streams.provisional import ProvisionalStore
from streams.stages import Stages
from streams.watchlists import WatchlistStore


def stages(redis: Redis, settings: CommonSettings) -> Stages:
    return Stages(
        watches=WatchlistStore(redis, settings), lists=ListStateStore(redis, settings),
        match_dedupe=DedupeStore(redis, settings, "match", 600),
        metrics=StreamsMetrics(), provisional=ProvisionalStore(redis, settings), bilingual=BilingualStore(redis, settings),
    )  # fmt: skip
