"""ride_out waits out an outage, and lets through what retrying cannot mend: real Redis error replies."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError, RecordTooLargeError
from faust.exceptions import ProducerSendError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ReadOnlyError, ResponseError

from contracts.clients import is_outage, producer, ride_out, send_all
from contracts.settings import CommonSettings


async def test_an_error_reply_about_the_data_propagates_at_once(redis: Redis, settings: CommonSettings) -> None:
    key = settings.redis_key("test", "a-string")
    await redis.set(key, "not a hash")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await asyncio.wait_for(ride_out(lambda: redis.hget(key, "f"), "test"), 10)
    # the same reply inside a transaction, and a script's own error
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(key).hget(key, "f")
        with pytest.raises(ResponseError) as raised:
            await asyncio.wait_for(ride_out(pipe.execute, "test"), 10)
    assert not is_outage(raised.value)
    with pytest.raises(ResponseError, match="nonexistent global"):
        await asyncio.wait_for(ride_out(lambda: redis.eval("return nosuch.x", 0), "test"), 10)  # type: ignore[misc]


async def test_a_record_kafka_refuses_for_its_size_propagates_at_once(kafka: str, settings: CommonSettings) -> None:
    client = producer(settings)
    await client.start()
    try:
        big = b"x" * (2 << 20)  # over the producer's 1 MiB request limit
        with pytest.raises(MessageSizeTooLargeError):
            await asyncio.wait_for(ride_out(lambda: send_all(client, f"{settings.namespace}.big", [(b"k", big)]), "t"), 10)
    finally:
        await client.stop()


async def test_an_outage_is_waited_out() -> None:
    failures = iter([RedisConnectionError("refused"), ResponseError("BUSY Redis is busy running a script"),
                     _wrapped(KafkaConnectionError("refused")), None])  # fmt: skip

    async def call() -> str:
        error = next(failures)
        if error is not None:
            raise error
        return "done"

    assert await asyncio.wait_for(ride_out(call, "test"), 30) == "done"


def _wrapped(cause: BaseException) -> BaseException:
    """As faust's producer raises an error of aiokafka's ``send``."""
    error = ProducerSendError(f"Error while sending: {cause!r}")
    error.__cause__ = cause  # what ``raise ... from cause`` sets
    return error


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (RedisConnectionError("Connection refused"), True),
        (ReadOnlyError("You can't write against a read only replica."), True),
        (ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist"), True),
        (ResponseError("Command # 2 (SET k v) of pipeline caused error: NOREPLICAS Not enough good replicas"), True),
        (ResponseError("OOM command not allowed when used memory > 'maxmemory'."), True),
        (ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), False),
        (ResponseError("unknown command 'FOO', with args beginning with: "), False),
        (DataError("Invalid input of type: 'NoneType'"), False),
        (TimeoutError(), True),
        (KafkaTimeoutError(), True),
        (KafkaConnectionError("refused"), True),
        (RecordTooLargeError(), False),
        (_wrapped(KafkaTimeoutError()), True),
        (_wrapped(MessageSizeTooLargeError()), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_counts_as_an_outage(error: BaseException, outage: bool) -> None:
    assert is_outage(error) is outage
