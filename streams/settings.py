"""The stream workers' settings: the common ones plus faust's web server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts.settings import CommonSettings, env_int


@dataclass(frozen=True)
class StreamsSettings:
    common: CommonSettings
    # LISTWATCH_STREAMS_WEB_PORT: faust's web server (health, metrics) on 127.0.0.1; 0 disables it.
    web_port: int = 6066
    # LISTWATCH_DEDUPE_TTL_S: how long an event id is remembered as done (30 days).
    dedupe_ttl_s: int = 30 * 86400
    # LISTWATCH_STREAMS_BATCH: changes the changes lane (and events an agent) takes at once at most (one Redis
    # round trip per kind of read or write and one wait for Kafka's acknowledgements per batch): a lane's next
    # batch is what arrived while the one before was in flight, up to this.
    batch: int = 500
    # LISTWATCH_STREAMS_BATCH_WITHIN_MS: how long an agent (watches, enriched topic) waits to fill a batch
    # before it goes with fewer (the most a lone event waits); the lanes take what has arrived, without waiting.
    batch_within_ms: int = 10
    # LISTWATCH_STREAMS_BASELINE_BATCH: baseline events taken at once on their own lane; smaller than
    # ``batch`` because the changes lane waits for one baseline batch at most (they share the event loop).
    baseline_batch: int = 100
    # LISTWATCH_STREAMS_BASELINE_QUIET_BATCH: baseline events taken at once while the changes lane has had
    # nothing for a second (streams/lane.py ``yields_to``): alone, a baseline streams faster in larger batches.
    baseline_quiet_batch: int = 400
    # LISTWATCH_STREAMS_COMMIT_MS: how often the changes and baseline lanes commit the offsets of their done
    # batches (also when idle and when partitions move); a crash repeats at most this much, dropped as
    # duplicates. LISTWATCH_STREAMS_BASELINE_COMMIT_MS, its name before 2026-12-01, is still read.
    commit_ms: int = 1000
    # LISTWATCH_STREAMS_ORPHANS_EVERY_S: how often the orphaned-members gauge is read from Redis.
    orphans_every_s: int = 60
    # LISTWATCH_STREAMS_GC_YOUNG: the cyclic collector's first threshold (Python's is 700). It counts tracked
    # objects allocated less those freed, so a batch in flight (its records, lists and dicts, freed by their
    # reference counts once it is done) set off young collections that promoted it to be walked again; at
    # 50,000 a collection comes when memory really grows (docs/operations.md).
    gc_young: int = 50_000
    # faust's data directory: $LISTWATCH_STATE_DIR/streams (set from the state directory, not on its own).
    data_dir: Path = Path(".state/streams")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StreamsSettings:
        common = CommonSettings.from_env(env)
        return cls(common=common, web_port=env_int(env, "STREAMS_WEB_PORT", cls.web_port),
                   dedupe_ttl_s=env_int(env, "DEDUPE_TTL_S", cls.dedupe_ttl_s, minimum=60),
                   batch=env_int(env, "STREAMS_BATCH", cls.batch, minimum=1),
                   baseline_batch=env_int(env, "STREAMS_BASELINE_BATCH", cls.baseline_batch, minimum=1),
                   baseline_quiet_batch=env_int(env, "STREAMS_BASELINE_QUIET_BATCH", cls.baseline_quiet_batch,
                                                minimum=1),
                   commit_ms=env_int(env, "STREAMS_COMMIT_MS", env_int(env, "STREAMS_BASELINE_COMMIT_MS",
                                                                       cls.commit_ms, minimum=0), minimum=0),
                   batch_within_ms=env_int(env, "STREAMS_BATCH_WITHIN_MS", cls.batch_within_ms, minimum=1),
                   orphans_every_s=env_int(env, "STREAMS_ORPHANS_EVERY_S", cls.orphans_every_s, minimum=1),
                   gc_young=env_int(env, "STREAMS_GC_YOUNG", cls.gc_young, minimum=100),
                   data_dir=common.state_dir / "streams")  # fmt: skip
