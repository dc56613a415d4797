"""The baseline lane without its work, as a worker process (``python -m bench.lane_floor``): the real
``ChangeLane`` (fetch, decode, done offsets, commits) with a stand-in for the stages that writes each change's
key to the list state's hash in one pipeline per batch, as the stages' last write does. What no work at all
gets through the lane on this broker: the ceiling of stream_throughput's worker figures."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from contracts.clients import redis_client
from contracts.models import Alert, EnrichedChange, ListChange
from contracts.settings import CommonSettings, configure_logging
from contracts.topics import Groups, Topics
from streams.lane import ChangeLane
from streams.metrics import StreamsMetrics
from streams.produce import Headers
from streams.quarantine import Quarantine
from streams.settings import StreamsSettings
from streams.stages import SendAlerts


class _NoWork:
    def __init__(self, settings: CommonSettings) -> None:
        self._redis = redis_client(settings)
        self._settings = settings

    def enrich_batch(self, changes: Sequence[ListChange]) -> list[EnrichedChange]:
        return []

    async def dedupe_enrich_match(
        self, changes: Sequence[ListChange], send: SendAlerts, enriched: Sequence[EnrichedChange] | None = None
    ) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            for change in changes:
                pipe.hset(self._settings.redis_key("list", change.source), change.entry_key, b"1")
            await pipe.execute()
        return len(changes)


async def _nothing(alerts: Sequence[Alert]) -> None:
    return None


async def _refuse(topic: str, records: Sequence[tuple[bytes, bytes, Headers | None]]) -> None:
    raise RuntimeError(f"the no-work lane failed: {len(records)} records would be set aside on {topic}")


async def main() -> None:
    settings = StreamsSettings.from_env(os.environ)
    configure_logging(settings.common)
    common = settings.common
    lane = ChangeLane(
        common, "baseline", Topics.for_settings(common).baselines, Groups.for_settings(common).baselines,
        _NoWork(common), _nothing, settings.baseline_batch,  # type: ignore[arg-type]
        Quarantine(_refuse, Topics.for_settings(common).quarantine, StreamsMetrics().quarantined),
        commit_every_s=settings.commit_ms / 1000,
    )  # fmt: skip
    await lane.run_until_cancelled()


if __name__ == "__main__":
    asyncio.run(main())
