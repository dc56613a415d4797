"""deploy/local/demo_drop.py on the real Redis and Kafka: earlier demos' namespaces go, the running one and
any other namespace stay."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

from redis.asyncio import Redis

from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics
from tests.conftest import wait_for
from tests.servers import topics_gone

SCRIPT = Path(__file__).parents[2] / "deploy" / "local" / "demo_drop.py"


async def test_earlier_demos_keys_and_topics_go_and_the_new_ones_stay(
    kafka: str, redis: Redis, env: dict[str, str], settings: CommonSettings, namespaces: set[str]
) -> None:
    prefix = f"{settings.namespace}-demo-"
    old, new, other = (CommonSettings.from_env({**env, "LISTWATCH_NAMESPACE": prefix + s}) for s in ("17", "18", "x"))
    namespaces.update(s.namespace for s in (old, new, other))
    for each in (old, new, other):
        await redis.set(each.redis_key("watch", "a"), b"1")
        await redis.set(each.redis_key("list", "b"), b"2")
    await ensure_topics(old, Topics.for_settings(old))
    await ensure_topics(new, Topics.for_settings(new))

    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), prefix, new.namespace, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    assert "removed 1 earlier demo namespace" in out.decode()

    assert [k async for k in redis.scan_iter(match=f"{old.namespace}:*")] == []
    for kept in (new, other):
        assert len({k async for k in redis.scan_iter(match=f"{kept.namespace}:*")}) == 2  # SCAN may repeat a key

    left = await wait_for(lambda: topics_gone(settings.kafka_bootstrap, Topics.for_settings(old).all()), within=30)
    assert set(Topics.for_settings(new).all()) <= left
    if left_keys := [k async for k in redis.scan_iter(match=f"{prefix}*")]:
        await redis.delete(*left_keys)


def test_without_its_two_arguments_it_says_how_to_call_it() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Usage: demo_drop.py PREFIX KEEP" in done.stderr
