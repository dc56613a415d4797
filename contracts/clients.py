"""Clients of the shared infrastructure, configured once for every service.

- ``redis_client``: Redis directly, or the current primary through Redis Sentinel; a command that meets a
  dropped or stale connection reconnects and is retried with backoff, so the first call after a Redis
  restart answers rather than failing.
- ``producer`` / ``send_all``: the one way to build a Kafka producer (acks from all in-sync replicas,
  idempotent) and to send a batch and await every acknowledgement.
- ``TRANSIENT`` / ``is_outage`` / ``Backoff``: what counts as an outage to ride out, and how long to wait
  between tries.
- ``hgetall_many``: many hashes read in one reply.

Commands are packed by hiredis (``hiredis_packing``), as redis-py's own blocking client does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import hiredis
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, RedisError, ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from contracts.settings import CommonSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors of an outage (Redis or Kafka down, a connection dropped, a broker failing over): wait and retry.
TRANSIENT: tuple[type[BaseException], ...] = (RedisError, KafkaError, OSError, TimeoutError)
# Redis error replies of a server that cannot serve now (busy, failing over, out of memory or disk, loading):
# an outage. Any other error reply (WRONGTYPE, a script's error, a bad command) says the data or the code is
# wrong, and retrying cannot mend it. Matched anywhere: a pipeline's error quotes its command's reply.
_OUTAGE_REPLY = re.compile(r"\b(BUSY|MISCONF|NOREPLICAS|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|LOADING|READONLY|OOM)\b")


# Kafka refusing the record itself (over the size limit): the same record is refused again. Named one by one:
# aiokafka's ``retriable`` flag also says no for the timeouts of a broker that is down.
_RECORD_REFUSED = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` is an outage to wait out (``TRANSIENT``), and not a Redis error reply about the data or
    the code (``WRONGTYPE`` on a key another tool wrote, a script's error), a value redis-py refused, nor a
    record Kafka refuses for its size."""
    if not isinstance(exc, TRANSIENT) and isinstance(exc.__cause__, KafkaError):
        exc = exc.__cause__  # faust's producer raises the producer's error as the cause of a ProducerSendError
    if isinstance(exc, (DataError, *_RECORD_REFUSED)):
        return False
    if type(exc) is ResponseError:  # its subclasses are replies of a server that cannot serve now
        return bool(_OUTAGE_REPLY.search(str(exc)))
    return isinstance(exc, TRANSIENT)


def text(value: Any) -> str:
    """A Redis reply as text (the clients are made without decode_responses, so replies are bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _retry() -> Retry:
    # A few quick tries cover a dropped pooled connection or a Sentinel failover; a longer outage is
    # the caller's loop's to ride out.
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=4)


class _SentinelRedis(Redis):
    """The primary's client that also closes its Sentinels' clients (redis-py leaves them open)."""

    owner: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.owner is not None:
            for client in self.owner.sentinels:
                await client.aclose()


class _HiredisPacked(AbstractConnection):
    """A connection whose commands hiredis packs into the wire format. redis-py's asyncio connections pack
    in Python, argument by argument (its blocking ones use hiredis): a batch's index script call of 300
    arguments took 170 us to pack, 20 with hiredis. The same bytes (tests/contracts/test_clients.py); what
    hiredis does not take (a bytearray; a bool or None, which redis-py refuses too) goes to redis-py's own
    packer, so what is packed or refused is what redis-py says. Text is packed as UTF-8 (``hiredis_packing``
    leaves a client of another encoding as it is)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        # a command name of several words ("CONFIG GET") goes as one argument per word, as redis-py sends it
        words = args
        if isinstance(args[0], str):
            words = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            words = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(words)]
        except TypeError:
            return super().pack_command(*args)


def hiredis_packing(client: Redis) -> Redis:
    """``client`` with its pool's connections packing commands with hiredis (``_HiredisPacked``), whatever
    the connection class the URL or Sentinel chose (TCP, TLS, a Unix socket, Sentinel's managed one); a
    client encoding text other than as UTF-8 (hiredis's only one) is left as it is."""
    pool = client.connection_pool
    chosen = pool.connection_class
    encoding = str(pool.connection_kwargs.get("encoding", "utf-8"))
    if encoding.lower().replace("-", "").replace("_", "") == "utf8" and not issubclass(chosen, _HiredisPacked):
        pool.connection_class = type(f"HiredisPacked{chosen.__name__}", (_HiredisPacked, chosen), {})
    return client


def redis_client(settings: CommonSettings) -> Redis:
    options: dict[str, Any] = {
        "retry": _retry(),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 15,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
    }
    if settings.redis_sentinels:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves Sentinel's __init__ untyped
            list(settings.redis_sentinels), socket_connect_timeout=2, socket_timeout=2
        )
        path = settings.redis_url.rsplit("/", 1)[-1]
        client: _SentinelRedis = sentinel.master_for(
            settings.redis_sentinel_master, redis_class=_SentinelRedis, db=int(path) if path.isdigit() else 0,
            **options,
        )
        client.owner = sentinel
        return hiredis_packing(client)
    return hiredis_packing(Redis.from_url(settings.redis_url, **options))


class Producer(Protocol):
    """What listwatch uses of a Kafka producer (aiokafka ships no type information)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Awaitable[Any]: ...


# Every hash in KEYS, flat (field, value, ...), in one reply: a pipeline of HGETALLs costs redis-py more per
# reply than Redis per command, and most of the hashes a batch asks for are missing or small.
_HGETALL_MANY = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
"""


async def hgetall_many(redis: Redis, keys: Sequence[str]) -> list[dict[Any, Any]]:
    """Each hash's fields and values (as the client decodes them; empty for a missing key), in one call."""
    if not keys:
        return []
    rows = await redis.eval(_HGETALL_MANY, len(keys), *keys)
    return [dict(zip(row[::2], row[1::2], strict=True)) for row in rows]


async def optimistic(redis: Redis, key: str, body: Callable[[Pipeline], Awaitable[T]]) -> T:
    """Run ``body`` in a transaction that watches ``key`` until it commits. ``body`` reads through the pipeline
    (commands run at once after WATCH), calls ``pipe.multi()`` and queues its writes; they are executed here.
    A write to ``key`` by another client in between starts it again, after a pause that doubles from 10 ms to
    0.5 s (so a long job does not spin against a writer that never stops, such as a baseline)."""
    pause = 0.01
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                result = await body(pipe)
                await pipe.execute()
            except WatchError:
                await pipe.reset()  # type: ignore[no-untyped-call]
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)
            else:
                return result


def producer(settings: CommonSettings, **overrides: Any) -> Producer:
    """Not started: the caller owns ``start`` and ``stop``."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
    }
    kafka: Producer = AIOKafkaProducer(**{**options, **overrides})
    return kafka


async def send_all(kafka: Producer, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """Send ``(key, value)`` records and return once the broker acknowledged every one."""
    futures = [await kafka.send(topic, value=value, key=key) for key, value in records]
    await asyncio.gather(*futures)
    return len(futures)


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with jitter for a retry loop; ``reset`` after a success."""

    base: float = 0.2
    cap: float = 5.0
    failures: int = field(default=0, init=False)

    def next_delay(self) -> float:
        self.failures += 1
        delay: float = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        return delay * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not secrets

    def reset(self) -> None:
        self.failures = 0

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        delay = self.next_delay()
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


async def ride_out(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Run ``call`` until it succeeds, waiting out outages (``is_outage``) with backoff: for work that must not be
    skipped (an event whose offset is committed once it is done). Other errors propagate (in the stream
    workers, to the quarantine)."""
    backoff = Backoff()
    while True:
        try:
            result = await call()
        except Exception as exc:
            if not is_outage(exc):
                raise
            if not backoff.failures:
                log.error("%s: dependency unavailable (%s: %s); retrying with backoff", what, type(exc).__name__, exc)
            await backoff.wait()
            continue
        if backoff.failures:
            log.info("%s: done after %d retries", what, backoff.failures)
        return result
