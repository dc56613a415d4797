"""The e-mail burst's sliding window on the real Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from alerts.store import AlertStore
from contracts.settings import CommonSettings


async def test_the_burst_window_slides_across_the_clocks_minute(redis: Redis, settings: CommonSettings) -> None:
    store = AlertStore(redis, settings)
    # Ten events just before a minute's end, then five just after it: a fixed window restarts at the minute and
    # would count the five from one; the sliding window counts all fifteen, up to its cap of eleven.
    start = 1_800_000_000.0 - 1.0  # a whole minute of the clock, one second ahead
    counts = [await store.count_recent("mail:s:e", f"a{i}", 60.0, 11, at=start + i * 0.1) for i in range(10)]
    counts += [await store.count_recent("mail:s:e", f"b{i}", 60.0, 11, at=start + 1.5 + i) for i in range(5)]
    assert counts == [*range(1, 12), 11, 11, 11, 11]
    # Sixty seconds after the last event every one has left the window.
    assert await store.count_recent("mail:s:e", "c", 60.0, 11, at=start + 1.5 + 4 + 60.0) == 1
    # Another name is another window.
    assert await store.count_recent("mail:s:other", "a0", 60.0, 11, at=start) == 1


async def test_an_event_seen_again_counts_once_and_keeps_its_time(redis: Redis, settings: CommonSettings) -> None:
    store = AlertStore(redis, settings)
    at = 1_800_000_100.0
    assert await store.count_recent("mail:s:e", "a", 60.0, 11, at=at) == 1
    assert await store.count_recent("mail:s:e", "a", 60.0, 11, at=at + 30) == 1  # a redelivery
    assert await store.count_recent("mail:s:e", "b", 60.0, 11, at=at + 30) == 2
    # "a" keeps the time it was first seen: gone from the window 60 s after that, "b" not yet.
    assert await store.count_recent("mail:s:e", "c", 60.0, 11, at=at + 61) == 2


async def test_memory_stays_at_the_cap(redis: Redis, settings: CommonSettings) -> None:
    store = AlertStore(redis, settings)
    for i in range(200):
        assert await store.count_recent("mail:s:e", f"a{i}", 60.0, 11, at=1_800_000_200.0 + i * 0.01) == min(i + 1, 11)
    assert await redis.zcard(store.k("recent", "mail:s:e")) == 11
    assert 0 < await redis.pttl(store.k("recent", "mail:s:e")) <= 60_000
