from __future__ import annotations

from redis.asyncio import Redis

from streams.settings import CommonSettings
from streams.watchlists import WatchEntry, WatchlistStore


async def test_candidates_by_name_and_identifier_on_real_redis(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    acme = WatchEntry(subscriber_id="s1", id="w1", name="ACME Trading Co.", alt_names=("艾克米贸易",))
    huawei = WatchEntry(subscriber_id="s2", id="w9", name="Huawei", uscc="914403001922038216")
    await store.put(acme)
    await store.put(huawei)

    by_name = await store.candidates(["acme  trading co"], [])
    assert by_name == [(acme, "name:acme trading co")]
    assert await store.candidates(["艾克米贸易"], []) == [(acme, "name:艾克米贸易")]
    by_id = await store.candidates(["Unrelated Name"], [("uscc", "914403001922038216")])
    assert by_id == [(huawei, "uscc:914403001922038216")]
    assert await store.candidates(["Nobody"], []) == []


async def test_replace_and_remove_keep_indexes_in_step(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    await store.put(WatchEntry(subscriber_id="s1", id="w1", name="Old Name"))
    await store.put(WatchEntry(subscriber_id="s1", id="w1", name="New Name"))
    assert await store.candidates(["Old Name"], []) == []
    assert [e.name for e, _ in await store.candidates(["New Name"], [])] == ["New Name"]
    assert await store.remove("s1", "w1") is True
    assert await store.remove("s1", "w1") is False
    assert await store.candidates(["New Name"], []) == []
    assert await store.entries("s1") == []


async def test_namespaces_do_not_see_each_other(redis: Redis, settings: CommonSettings) -> None:
    other = CommonSettings(redis_url=settings.redis_url, namespace=settings.namespace + "-other")
    await WatchlistStore(redis, settings).put(WatchEntry(subscriber_id="s1", id="w1", name="Shared"))
    assert await WatchlistStore(redis, other).candidates(["Shared"], []) == []
    await redis.delete(*[k async for k in redis.scan_iter(match=f"{other.namespace}:*")] or ["none"])
