"""ride_out waits out an outage, and lets through what retrying cannot mend: real Redis error replies. The Redis
client's commands packed by hiredis: the bytes redis-py packs, the same values refused, on the real server."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError, RecordTooLargeError
from faust.exceptions import ProducerSendError
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ReadOnlyError, ResponseError

from contracts.clients import hiredis_packing, is_outage, producer, redis_client, ride_out, send_all
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


# Each kind of argument the stores send, a command name of two words, and a script call past redis-py's
# buffer cutoff (6,000 bytes: its own packer splits that one into chunks).
_COMMANDS: list[tuple[Any, ...]] = [
    ("SET", "k", "v"),
    ("HSET", b"h", "f\x1ffield", b"\x00\xff\r\n", "é中文", "", 1, -7, 2**70, 1.5, 0.1, 1e20),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT SETNAME", "x"),
    ("SET", "k", memoryview(b"a view")),
    ("SET", "k", bytearray(b"an array")),  # hiredis refuses it, redis-py's packer takes it
    ("EVAL", "return #ARGV", 0, *[f"t:word{i}\x1ex:word{i}" for i in range(300)]),
]


@pytest.mark.parametrize("args", _COMMANDS, ids=lambda a: str(a[0]))
def test_hiredis_packs_the_bytes_redis_py_packs(args: tuple[Any, ...]) -> None:
    packed = hiredis_packing(Redis()).connection_pool.connection_class()
    assert b"".join(packed.pack_command(*args)) == b"".join(Connection().pack_command(*args))
    assert b"".join(packed.pack_commands([args, ("GET", "k")])) == b"".join(
        Connection().pack_commands([args, ("GET", "k")])
    )


@pytest.mark.parametrize("value", [True, None, ["a"], {"a": 1}])
def test_hiredis_packing_refuses_what_redis_py_refuses(value: object) -> None:
    packed = hiredis_packing(Redis()).connection_pool.connection_class()
    with pytest.raises(DataError):
        Connection().pack_command("SET", "k", value)
    with pytest.raises(DataError):
        packed.pack_command("SET", "k", value)


@pytest.mark.parametrize(
    ("url", "kind"),
    [("redis://127.0.0.1:6379/0", Connection), ("rediss://127.0.0.1:6380/0", SSLConnection),
     ("unix:///run/redis.sock?db=0", UnixDomainSocketConnection)],
)  # fmt: skip
def test_the_client_packs_with_hiredis_whatever_connection_its_url_chose(
    settings: CommonSettings, url: str, kind: type[Connection]
) -> None:
    chosen = redis_client(dataclasses.replace(settings, redis_url=url)).connection_pool.connection_class
    assert issubclass(chosen, kind)
    assert chosen.pack_command is not kind.pack_command
    assert hiredis_packing(Redis.from_url(url)).connection_pool.connection_class.__name__ == chosen.__name__


def test_a_client_of_another_encoding_keeps_redis_pys_packer() -> None:
    assert hiredis_packing(Redis(encoding="latin-1")).connection_pool.connection_class is Connection
    assert hiredis_packing(Redis(encoding="UTF_8")).connection_pool.connection_class is not Connection


async def test_commands_packed_by_hiredis_reach_the_real_server_intact(redis: Redis, settings: CommonSettings) -> None:
    client = redis_client(settings)
    try:
        key = settings.redis_key("test", "packed", "é中文")
        every_byte = bytes(range(256))
        await client.hset(key, mapping={"bytes": every_byte, "int": 2**70, "float": 0.1, "empty": ""})
        assert await client.hgetall(key) == {b"bytes": every_byte, b"int": str(2**70).encode(),
                                             b"float": b"0.1", b"empty": b""}  # fmt: skip
        args = [f"arg{i}\x1e" + "x" * 50 for i in range(2000)]
        echoed = await client.eval("return ARGV", 0, *args)  # type: ignore[misc]
        assert [a.decode() for a in echoed] == args
        async with client.pipeline(transaction=True) as pipe:
            pipe.hget(key, "bytes").hlen(key).exists(key)
            assert await pipe.execute() == [every_byte, 4, 1]
        with pytest.raises(DataError):
            await client.set(key, None)  # type: ignore[arg-type]
    finally:
        await client.aclose()
