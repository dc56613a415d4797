"""Servers that a test owns and may kill: a Redis with AOF on its own port and data directory.

The shared Redis that ``make test`` starts is never killed; a fault test starts its own from the same Debian
``redis-server`` binary. Missing binary: skipped with the reason, a failure under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        message = f"{name} is not installed; `make up` installs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


class RedisServer:
    """``redis-server`` with AOF (fsync every second, as deploy/local runs it) on 127.0.0.1:port."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.binary = require_binary("redis-server")
        self.port = port or free_port()
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "no", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown save, as a crash or an OOM kill."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None


REPO = Path(__file__).resolve().parents[1]


def kafka_lib_dir() -> Path:
    """The broker jars deploy/local/kafka.sh assembled (keyed, as there, by the pom's hash)."""
    import hashlib

    pom = REPO / "deploy" / "local" / "kafka" / "pom.xml"
    cache = Path(os.environ.get("LISTWATCH_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or
                 Path.home() / ".cache") / "listwatch")  # fmt: skip
    lib = cache / f"kafka-{hashlib.sha256(pom.read_bytes()).hexdigest()[:12]}" / "lib"
    if not (lib / ".complete").exists():
        message = f"Kafka jars not assembled at {lib}; `make up` assembles them"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    require_binary("java")
    return lib


class KafkaCluster:
    """``n`` KRaft nodes (each broker and controller) on loopback, one quorum: the same jars as the local
    stack, started ``n`` times on other ports. Internal topics are replicated ``n`` ways, min ISR n-1."""

    def __init__(self, root: Path, n: int = 3) -> None:
        import base64
        import uuid

        self.lib = kafka_lib_dir()
        self.root = root
        self.n = n
        self.ports = [free_port() for _ in range(n)]
        self.controllers = [free_port() for _ in range(n)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * n
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=").replace("-", "A")
        voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, c in enumerate(self.controllers))
        min_isr = max(1, n - 1)
        for i in range(n):
            node = root / f"node{i + 1}"
            (node / "data").mkdir(parents=True, exist_ok=True)
            (node / "server.properties").write_text("\n".join([
                "process.roles=broker,controller", f"node.id={i + 1}", f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.ports[i]},CONTROLLER://127.0.0.1:{self.controllers[i]}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.ports[i]}", "inter.broker.listener.name=PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={node / 'data'}", "num.partitions=4", "auto.create.topics.enable=false",
                f"offsets.topic.replication.factor={n}", "offsets.topic.num.partitions=4",
                f"transaction.state.log.replication.factor={n}", f"transaction.state.log.min.isr={min_isr}",
                "transaction.state.log.num.partitions=4", f"share.coordinator.state.topic.replication.factor={n}",
                f"share.coordinator.state.topic.min.isr={min_isr}", f"default.replication.factor={n}",
                f"min.insync.replicas={min_isr}", "group.initial.rebalance.delay.ms=0",
                "log.cleaner.dedupe.buffer.size=16777216", "unclean.leader.election.enable=false", "",
            ]))  # fmt: skip
            shutil.copyfile(REPO / "deploy" / "local" / "kafka" / "log4j2.properties", node / "log4j2.properties")
            subprocess.run(
                ["java", "-cp", f"{self.lib}/*", f"-Dlog4j2.configurationFile={node / 'log4j2.properties'}",
                 "kafka.tools.StorageTool", "format", "-t", self.cluster_id, "-c", str(node / "server.properties"),
                 "--ignore-formatted"],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self, i: int) -> None:
        node = self.root / f"node{i + 1}"
        log = (node / "kafka.log").open("ab")
        self.procs[i] = subprocess.Popen(
            ["java", "-Xms128m", "-Xmx384m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             f"-Dkafka.logs.dir={node}", f"-Dlog4j2.configurationFile={node / 'log4j2.properties'}",
             "-cp", f"{self.lib}/*", "kafka.Kafka", str(node / "server.properties")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()

    def start_all(self) -> None:
        for i in range(self.n):
            self.start(i)

    def kill(self, i: int) -> None:
        """SIGKILL one node: no controlled shutdown, its partitions' leadership moves by election."""
        proc = self.procs[i]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            self.procs[i] = None

    def stop_all(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=30)
                self.procs[i] = None


class RedisSentinelSet:
    """A primary with AOF, one replica, and three Sentinels (quorum 2) watching it under ``name``."""

    def __init__(self, root: Path, name: str = "listwatch") -> None:
        self.name = name
        self.primary = RedisServer(root / "primary")
        self.replica = RedisServer(root / "replica")
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.root = root
        self.sentinels: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self.primary.start()
        self.replica.start("--replicaof", "127.0.0.1", str(self.primary.port))
        for i, port in enumerate(self.sentinel_ports):
            folder = self.root / f"sentinel{i}"
            folder.mkdir(parents=True, exist_ok=True)
            conf = folder / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                f"sentinel monitor {self.name} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.name} 1000\n"
                f"sentinel failover-timeout {self.name} 5000\nsentinel parallel-syncs {self.name} 1\n"
            )
            self.sentinels.append(subprocess.Popen(
                [self.primary.binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def stop(self) -> None:
        for proc in self.sentinels:
            proc.terminate()
            proc.wait(timeout=10)
        self.sentinels.clear()
        self.replica.stop()
        self.primary.stop()


async def topic_configs_of(admin: Any, topic: str, name: str) -> dict[str, str]:
    """A topic's configs as the broker describes them, once they include ``name``: a broker that has not yet
    applied a new topic answers with an error and no configs, so it is asked again (15 s at most; then what it
    said last)."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    values: dict[str, str] = {}
    for _ in range(30):
        [config] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        error_code, _message, _type, _name, entries = config.resources[0][:5]
        values = {c[0]: c[1] for c in entries}
        if error_code == 0 and name in values:
            break
        await asyncio.sleep(0.5)
    return values


async def commit_offsets(bootstrap: str, group: str, offsets: dict[Any, int]) -> None:
    """Commit ``offsets`` (TopicPartition -> offset) for ``group`` from outside it, as a consumer of that group
    would have."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    consumer.assign(list(offsets))
    await consumer.start()
    try:
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def topic_names(bootstrap: str) -> set[str]:
    """Every topic the broker lists."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def topics_gone(bootstrap: str, topics: Iterable[str]) -> set[str] | None:
    """The broker's topics once none of ``topics`` is among them (deletion is asynchronous), else None: for
    ``wait_for``."""
    names = await topic_names(bootstrap)
    return None if names & set(topics) else names
