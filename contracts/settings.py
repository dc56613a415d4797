"""Settings shared by every listwatch service: where Kafka and Redis are, and the namespace.

Built once at an entry point from a mapping (normally ``os.environ``) and passed down; nothing reads the
environment anywhere else. Tests pass a plain dict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "LISTWATCH_"
# The default match score for an alert; the matcher's quality figures (docs/matching.md) are measured at it.
DEFAULT_MATCH_THRESHOLD = 0.88
_NAMESPACE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(PREFIX + name, default).strip()
    if not value:
        raise SettingsError(f"{PREFIX}{name} must not be empty")
    return value


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be >= {minimum}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be >= {minimum}, got {value}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or not raw.strip():
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return level


def configure_logging(settings: CommonSettings) -> None:
    """Once, at an entry point."""
    import logging

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


_EVENT_LOOPS = ("uvloop", "asyncio")


def use_event_loop(settings: CommonSettings) -> None:
    """Once, at a service's entry point, before its first loop: uvloop (libuv's loop, the one faust and mode
    support besides asyncio's) unless ``asyncio`` is asked for. A stream worker's CPU per baseline change fell
    from 328 to 265 µs with it, medians of nine alternating runs (docs/benchmarks.md, Stream throughput)."""
    import asyncio

    if settings.event_loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(None)  # asyncio's own


def env_hosts(env: Mapping[str, str], name: str) -> tuple[tuple[str, int], ...]:
    """``host:port[,host:port]``; empty when unset."""
    out = []
    for item in filter(None, (part.strip() for part in env.get(PREFIX + name, "").split(","))):
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(f"{PREFIX}{name} wants host:port[,host:port], got {item!r}")
        out.append((host, int(port)))
    return tuple(out)


@dataclass(frozen=True)
class CommonSettings:
    # LISTWATCH_KAFKA_BOOTSTRAP: host:port[,host:port] of the Kafka brokers.
    kafka_bootstrap: str = "127.0.0.1:19092"
    # LISTWATCH_KAFKA_PARTITIONS: partitions of every topic we create; stream workers scale up to it.
    kafka_partitions: int = 4
    # LISTWATCH_KAFKA_REPLICATION_FACTOR: copies of every topic we create (3 on a three-broker cluster).
    kafka_replication_factor: int = 1
    # LISTWATCH_KAFKA_MIN_INSYNC_REPLICAS: copies that must have a write before it is acknowledged (default 2
    # when there are at least two copies, else 1).
    kafka_min_insync_replicas: int = 1
    # LISTWATCH_REDIS_URL: Redis holding fast state (watchlists, dedupe, delivery state). With Sentinel,
    # only its database number (the path) is used.
    redis_url: str = "redis://127.0.0.1:16379/0"
    # LISTWATCH_REDIS_SENTINELS: host:port[,host:port] of Redis Sentinels; when set, the services connect to
    # the primary that the Sentinels name and follow a failover.
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    # LISTWATCH_REDIS_SENTINEL_MASTER: the name the Sentinels monitor the primary under.
    redis_sentinel_master: str = "listwatch"
    # LISTWATCH_REDIS_WAIT_REPLICAS: after a delivery is claimed or finished, wait until this many replicas
    # have the write (Redis WAIT), so a failover cannot forget it and send the delivery twice. 1 with Sentinel.
    redis_wait_replicas: int = 0
    # LISTWATCH_NAMESPACE: prefix of every topic, consumer group and Redis key, so that several
    # deployments (or test runs) share one Kafka and one Redis without seeing each other.
    namespace: str = "listwatch"
    # LISTWATCH_MATCH_THRESHOLD: default match score for an alert (subscribers may set their own); the
    # stream workers alert with it, the API reports and screens with it.
    match_threshold: float = DEFAULT_MATCH_THRESHOLD
    # LISTWATCH_STATE_DIR: every file a service keeps (the monitor's downloads, faust's data) lives under here.
    state_dir: Path = Path(".state")
    # LISTWATCH_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR, for every service and command.
    log_level: str = "INFO"
    # LISTWATCH_EVENT_LOOP: the services' event loop, uvloop or asyncio (the standard library's).
    event_loop: str = "uvloop"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CommonSettings:
        namespace = env_str(env, "NAMESPACE", cls.namespace)
        if not _NAMESPACE_RE.match(namespace):
            raise SettingsError(
                f"{PREFIX}NAMESPACE must be lowercase letters, digits, '.', '_' or '-' (at most 63), got {namespace!r}"
            )
        threshold = env_float(env, "MATCH_THRESHOLD", cls.match_threshold)
        if not 0 < threshold <= 1:
            raise SettingsError(f"{PREFIX}MATCH_THRESHOLD must be in (0, 1], got {threshold}")
        replication = env_int(env, "KAFKA_REPLICATION_FACTOR", cls.kafka_replication_factor, minimum=1)
        min_insync = env_int(env, "KAFKA_MIN_INSYNC_REPLICAS", min(2, replication), minimum=1)
        if min_insync > replication:
            raise SettingsError(
                f"{PREFIX}KAFKA_MIN_INSYNC_REPLICAS ({min_insync}) must not exceed "
                f"{PREFIX}KAFKA_REPLICATION_FACTOR ({replication})"
            )
        event_loop = env_str(env, "EVENT_LOOP", cls.event_loop).lower()
        if event_loop not in _EVENT_LOOPS:
            raise SettingsError(f"{PREFIX}EVENT_LOOP must be uvloop or asyncio, got {event_loop!r}")
        return cls(
            match_threshold=threshold,
            event_loop=event_loop,
            state_dir=Path(env_str(env, "STATE_DIR", str(cls.state_dir))),
            log_level=_log_level(env_str(env, "LOG_LEVEL", cls.log_level)),
            kafka_bootstrap=env_str(env, "KAFKA_BOOTSTRAP", cls.kafka_bootstrap),
            kafka_partitions=env_int(env, "KAFKA_PARTITIONS", cls.kafka_partitions, minimum=1),
            kafka_replication_factor=replication,
            kafka_min_insync_replicas=min_insync,
            redis_url=env_str(env, "REDIS_URL", cls.redis_url),
            redis_sentinels=env_hosts(env, "REDIS_SENTINELS"),
            redis_sentinel_master=env_str(env, "REDIS_SENTINEL_MASTER", cls.redis_sentinel_master),
            redis_wait_replicas=env_int(env, "REDIS_WAIT_REPLICAS", cls.redis_wait_replicas),
            namespace=namespace,
        )

    def redis_key(self, *parts: str) -> str:
        """Every Redis key goes through here so that the namespace is never forgotten."""
        return ":".join((self.namespace, *parts))
