"""The store's grouped script calls (a group commit) on the real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, ResponseError

from alerts.store.base import StoreBase
from contracts.settings import CommonSettings

# Appends its argument to a list and returns the list's length: the order of the calls is visible.
_APPEND = "return redis.call('RPUSH', KEYS[1], ARGV[1])"
_FAIL = "return redis.error_reply('refused: ' .. ARGV[1])"


async def test_concurrent_calls_share_round_trips_and_keep_their_order(redis: Redis, settings: CommonSettings) -> None:
    store = StoreBase(redis, settings)
    sent: list[int] = []
    send_group = store._send_group

    async def counting(group):  # type: ignore[no-untyped-def]
        sent.append(len(group))
        return await send_group(group)

    store._send_group = counting  # type: ignore[method-assign]
    key = store.k("order")
    results = await asyncio.gather(*(store.grouped(_APPEND, [key], [str(i)]) for i in range(50)))
    assert results == list(range(1, 51))  # each caller gets its own reply
    assert [int(x) for x in await redis.lrange(key, 0, -1)] == list(range(50))  # run in the order called
    assert sum(sent) == 50
    assert len(sent) < 50  # calls made together went out together
    assert await store.grouped(_APPEND, [key], ["x"]) == 51  # an idle store sends at once


async def test_one_failing_call_fails_only_its_caller(redis: Redis, settings: CommonSettings) -> None:
    store = StoreBase(redis, settings)
    key = store.k("mixed")
    ok1, bad, ok2 = await asyncio.gather(
        store.grouped(_APPEND, [key], ["a"]), store.grouped(_FAIL, [key], ["b"]), store.grouped(_APPEND, [key], ["c"]),
        return_exceptions=True,
    )  # fmt: skip
    assert (ok1, ok2) == (1, 2)
    assert isinstance(bad, ResponseError)
    assert "refused: b" in str(bad)


async def test_scripts_lost_by_redis_are_loaded_again(redis: Redis, settings: CommonSettings) -> None:
    store = StoreBase(redis, settings)
    key = store.k("flushed")
    assert await store.grouped(_APPEND, [key], ["a"]) == 1
    await redis.script_flush()  # as after a restart without persistence of scripts
    assert await asyncio.gather(*(store.grouped(_APPEND, [key], [x]) for x in "bcd")) == [2, 3, 4]


async def test_an_unreachable_redis_fails_the_group_and_the_next_call_goes_through(
    redis: Redis, settings: CommonSettings
) -> None:
    store = StoreBase(redis, settings)
    key = store.k("outage")
    store.redis = Redis(port=1, retry=Retry(NoBackoff(), 0))  # nothing listens there
    try:
        outcomes = await asyncio.gather(*(store.grouped(_APPEND, [key], [x]) for x in "ab"), return_exceptions=True)
        assert all(isinstance(o, ConnectionError) for o in outcomes)
        with pytest.raises(ConnectionError):
            await store.grouped(_APPEND, [key], ["c"])
    finally:
        await store.redis.aclose()
    store.redis = redis  # Redis is back
    assert await store.grouped(_APPEND, [key], ["d"]) == 1
    assert await redis.lrange(key, 0, -1) == [b"d"]


async def test_a_cancelled_caller_leaves_the_others_theirs(redis: Redis, settings: CommonSettings) -> None:
    store = StoreBase(redis, settings)
    key = store.k("cancel")
    first = asyncio.create_task(store.grouped(_APPEND, [key], ["a"]))
    second = asyncio.create_task(store.grouped(_APPEND, [key], ["b"]))
    await asyncio.sleep(0)
    second.cancel()
    assert await first == 1
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await store.grouped(_APPEND, [key], ["c"]) in {2, 3}  # b may have run: it was sent before the cancel
