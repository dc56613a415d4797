"""The list state when the baseline lane is overtaken: a baseline's event older than a change already applied
to its entry must neither bring the old entry back nor alert."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from contracts.cli import main
from contracts.clients import redis_client
from contracts.models import Alert, ChangeKind, EnrichedChange, Enrichment, FieldChange, NameVariant, build
from contracts.settings import CommonSettings
from streams import stages as stages_module
from streams.enrich.change import enrich
from streams.index import RedisIndex
from streams.list_state import ListedEntry, ListStateStore, PreparedWrite, encode
from streams.match import logic
from streams.stages import decode_changes
from streams.watchlists import WatchEntry, WatchlistStore
from tests.factories import change, entry
from tests.streams.stack import stages

FIRST = datetime(2026, 11, 1, 9, tzinfo=UTC)  # the baseline's snapshot
NEXT = FIRST + timedelta(minutes=10)  # the next snapshot's diff
OLD = entry(key="7", name="KAPPALINE SHIPPING LIMITED")
RENAMED = entry(key="7", name="KAPPALINE MARINE LIMITED")


def baseline(at: datetime = FIRST) -> EnrichedChange:
    return enrich(change(ChangeKind.ADDED, after=OLD, baseline=True, observed_at=at))


def renamed() -> EnrichedChange:
    fields = [FieldChange(field="name", before=OLD.name, after=RENAMED.name)]
    return enrich(change(ChangeKind.MODIFIED, before=OLD, after=RENAMED, fields=fields, observed_at=NEXT))


async def test_a_baseline_event_overtaken_by_a_modification_is_not_applied(
    redis: Redis, settings: CommonSettings
) -> None:
    lists = ListStateStore(redis, settings)
    assert await lists.apply_many([renamed()]) != []
    assert await lists.apply_many([baseline()]) == []
    stored = await lists.get("ofac_sdn", "7")
    assert stored is not None
    assert stored.entry.name == RENAMED.name
    # The index still finds the entry under its new name only.
    assert [x.entry.name for x in await lists.candidates(["t:marine"])] == [RENAMED.name]
    assert await lists.candidates(["t:shipping"]) == []


async def test_a_renamed_then_removed_entry_leaves_nothing_in_the_index(redis: Redis, settings: CommonSettings) -> None:
    # The index keeps a digest of an entry's keys; the list state names the keys of the entry it stored, so a
    # rename takes the old name's postings away and a removal the rest: nothing is left to vacuum.
    lists = ListStateStore(redis, settings)
    await lists.apply(baseline())
    await lists.apply(renamed())
    assert [x.entry.name for x in await lists.candidates(["t:marine"])] == [RENAMED.name]
    assert await lists.candidates(["t:shipping"]) == []
    await lists.apply(enrich(change(ChangeKind.REMOVED, before=RENAMED, observed_at=NEXT + timedelta(minutes=10))))
    assert await lists.candidates(["t:marine"]) == []
    assert await RedisIndex(redis, settings, "lidx").orphans() == 0
    assert [k async for k in redis.scan_iter(match=settings.redis_key("lidx") + ":[bk]:*")] == []


async def test_a_baseline_event_overtaken_by_a_removal_does_not_bring_the_entry_back(
    redis: Redis, settings: CommonSettings
) -> None:
    lists = ListStateStore(redis, settings)
    await lists.apply(enrich(change(ChangeKind.REMOVED, before=OLD, observed_at=NEXT)))
    assert not await lists.apply(baseline())
    assert await lists.get("ofac_sdn", "7") is None


async def test_a_later_baseline_is_applied_over_older_changes(redis: Redis, settings: CommonSettings) -> None:
    # The list seen for the first time again (its monitor state lost): the newer baseline is the truth.
    lists = ListStateStore(redis, settings)
    await lists.apply(enrich(change(ChangeKind.REMOVED, before=OLD, observed_at=NEXT)))
    assert await lists.apply(baseline(NEXT + timedelta(days=1)))
    assert await lists.get("ofac_sdn", "7") is not None


async def test_a_change_landing_between_the_stamp_read_and_the_write_makes_the_baseline_start_again(
    redis: Redis, settings: CommonSettings
) -> None:
    lists = ListStateStore(redis, settings)
    other = ListStateStore(redis, settings)  # another worker, on the changes lane
    read = lists._stale
    calls = 0

    async def racing(pipe: object, events: Sequence[EnrichedChange]) -> set[str]:
        nonlocal calls
        calls += 1
        stale = await read(pipe, events)  # type: ignore[arg-type]
        if calls == 1:
            assert stale == set()  # nothing newer yet ...
            await other.apply(renamed())  # ... and now there is
        return stale

    lists._stale = racing  # type: ignore[method-assign]
    assert await lists.apply_many([baseline()]) == []
    assert calls == 2
    stored = await lists.get("ofac_sdn", "7")
    assert stored is not None
    assert stored.entry.name == RENAMED.name


async def test_the_baseline_lane_alerts_once_and_an_overtaken_entry_not_at_all(
    redis: Redis, settings: CommonSettings
) -> None:
    s = stages(redis, settings)
    await s.watches.put(WatchEntry(subscriber_id="s", id="w", name="Kappaline Shipping Limited"))
    await s.watches.put(WatchEntry(subscriber_id="s", id="v", name="Vorlatech Instruments"))
    sent: list[Alert] = []

    async def send(alerts: Sequence[Alert]) -> None:
        sent.extend(alerts)

    other = change(ChangeKind.ADDED, after=entry(key="8", name="VORLATECH INSTRUMENTS"), baseline=True,
                   observed_at=FIRST)  # fmt: skip
    assert await s.match_batch([renamed()], send) != []  # the next snapshot's change came first
    sent.clear()
    assert await s.dedupe_enrich_match([baseline().change, other], send) == 2
    assert [(a.watch_id, a.kind) for a in sent] == [("v", "already_listed")]
    assert s.metrics.stale_baseline._value.get() == 1
    # Repeated (a crash before the commit): nothing again.
    assert await s.dedupe_enrich_match([baseline().change, other], send) == 0
    assert len(sent) == 1


@pytest.mark.parametrize("unwritable", [(), ("changed",)], ids=["list-hash", "stamps-hash"])
async def test_no_alert_is_sent_before_its_batchs_list_state_is_written(
    redis: Redis, settings: CommonSettings, unwritable: tuple[str, ...]
) -> None:
    # A batch's list state is written before any of its alerts goes (a crash repeats the batch, never loses
    # the state the alerts speak of). A hash Redis cannot write (a string in its place) shows it: the batch
    # fails whole, nothing is sent, nothing is marked done (the lane sets it aside); a baseline's batch alike.
    # The list hash fails the read before the transaction; the entries' stamps hash fails the transaction
    # itself, which a batch without baseline events has Redis run while its candidates are scored.
    s = stages(redis, settings)
    await s.watches.put(WatchEntry(subscriber_id="s", id="w", name="Kappaline Shipping Limited"))
    key = settings.redis_key("list", "ofac_sdn", *unwritable)
    await redis.set(key, "not a hash")
    sent: list[Alert] = []

    async def send(alerts: Sequence[Alert]) -> None:
        sent.extend(alerts)

    for batch in ([renamed()], [baseline()]):
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await s.match_batch(batch, send)
        assert sent == []
        assert await s.match_dedupe.seen_many([e.change.event_id for e in batch]) == [False]
    # With the hash writable again, the batch alerts as it would have, once.
    await redis.delete(key)
    assert [a.kind for a in await s.match_batch([renamed()], send)] == ["modified"]
    assert len(sent) == 1


class _TimedWrites(ListStateStore):
    """Says whether a batch's transaction is in flight."""

    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        super().__init__(redis, settings)
        self.writing = self.written = False

    async def write(self, pending: PreparedWrite) -> list[EnrichedChange]:
        self.writing = True
        try:
            return await super().write(pending)
        finally:
            self.writing, self.written = False, True


async def test_candidates_are_scored_while_the_transaction_is_in_flight_and_a_failure_waits_for_it(
    redis: Redis, settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = stages(redis, settings)
    s.lists = lists = _TimedWrites(redis, settings)
    await s.watches.put(WatchEntry(subscriber_id="s", id="w", name="Kappaline Shipping Limited"))
    during: list[bool] = []

    def match_change(*args: Any) -> list[Alert]:
        during.append(lists.writing)
        return logic.match_change(*args)

    monkeypatch.setattr(stages_module, "match_change", match_change)
    changes = [enrich(change(ChangeKind.ADDED, after=entry(key=str(k), name=f"KAPPALINE {k} LIMITED")))
               for k in range(40)]  # fmt: skip
    await s.match_batch(changes, _ignore)
    assert len(during) == 40
    assert any(during)  # the transaction ran while the worker scored
    assert lists.written

    # Scoring that fails leaves no transaction running behind it: the batch is retried whole, after it.
    def failing(*args: Any) -> list[Alert]:
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(stages_module, "match_change", failing)
    lists.written = False
    with pytest.raises(RuntimeError, match="scoring failed"):
        await s.match_batch([renamed()], _ignore)
    assert lists.written
    assert not lists.writing


async def _ignore(alerts: Sequence[Alert]) -> None:
    pass


def test_the_baseline_lane_skips_a_record_that_is_not_a_change() -> None:
    good = baseline().change
    assert [c.event_id for c in decode_changes([b"", b"{]", b"null", None, good.dumps()])] == [good.event_id]
    bad: list[tuple[int, Exception]] = []
    assert len(decode_changes([b"{]", good.dumps(), b'{"event_id": "x"}'], bad)) == 1
    assert [i for i, _ in bad] == [0, 2]
    assert "source" in str(bad[1][1])  # the missing field named


async def test_entries_are_stored_compressed_and_plain_json_from_before_still_reads(
    redis: Redis, settings: CommonSettings
) -> None:
    lists = ListStateStore(redis, settings)
    await lists.apply(baseline())
    raw = await redis.hget(f"{settings.namespace}:list:ofac_sdn", "7")
    assert raw is not None
    assert not raw.startswith(b"{")
    stored = await lists.get("ofac_sdn", "7")
    assert stored is not None
    assert len(raw) < len(stored.dumps())
    # As written before compression: read as it is.
    await redis.hset(f"{settings.namespace}:list:ofac_sdn", "7", stored.dumps())
    again = await lists.get("ofac_sdn", "7")
    assert again is not None
    assert again.entry == stored.entry


async def test_candidates_of_several_lists_come_in_the_index_order(redis: Redis, settings: CommonSettings) -> None:
    """Read with one HMGET per list in one round trip, as each would be read alone, in the index's order."""
    lists = ListStateStore(redis, settings)
    entries = [("ofac_sdn", entry(key=str(n), name=f"KAPPALINE {word} LIMITED"))
               for n, word in enumerate(["SHIPPING", "MARINE", "TANKERS"], start=1)]  # fmt: skip
    entries.append(("un_sc", entry(key="QDe.1", name="KAPPALINE SHIPPING LIMITED")))
    for source, listed in entries:
        await lists.apply(enrich(change(ChangeKind.ADDED, source=source, after=listed, observed_at=FIRST)))
    keys = ["t:kappaline", "t:shipping"]
    found = await lists.candidates(keys)
    order = [m.split("\x1f", 1) for m in await lists._index.lookup(keys)]
    assert [(x.source, x.entry.key) for x in found] == [(s, k) for s, k in order]
    assert {(x.source, x.entry.key) for x in found} == {(s, e.key) for s, e in entries}
    one_by_one = [await lists.get(s, k) for s, k in order]
    assert [x.dumps() for x in found] == [x.dumps() for x in one_by_one if x is not None]
    assert await lists.candidates(["t:nothing"]) == []


async def test_alerts_on_a_party_listed_twice_name_its_other_entries(redis: Redis, settings: CommonSettings) -> None:
    """A removal of one of two same-name entries says the party is still listed; another list's entry under the
    name, and an entry of another name, are not mentioned."""
    s = stages(redis, settings)
    await s.watches.put(WatchEntry(subscriber_id="s", id="w", name="Kappaline Shipping Limited"))
    sent: list[Alert] = []

    async def send(alerts: Sequence[Alert]) -> None:
        sent.extend(alerts)

    twice = [entry(key="7", name="KAPPALINE SHIPPING LIMITED"), entry(key="9", name="Kappaline Shipping Ltd.")]
    listed = [change(ChangeKind.ADDED, after=e, baseline=True, observed_at=FIRST) for e in twice]
    listed.append(change(ChangeKind.ADDED, source="un_sc", after=entry(key="QDe.1", name="KAPPALINE SHIPPING LIMITED"),
                         baseline=True, observed_at=FIRST))  # fmt: skip
    listed.append(change(ChangeKind.ADDED, after=entry(key="8", name="KAPPALINE MARINE LIMITED"), baseline=True,
                         observed_at=FIRST))  # fmt: skip
    await s.dedupe_enrich_match(listed, send)
    sent.clear()
    await s.match_batch([enrich(change(ChangeKind.REMOVED, before=twice[0], observed_at=NEXT))], send)
    [alert] = sent
    assert alert.kind == "removed"
    assert [r for r in alert.reasons if "same name" in r] == [
        "still listed on ofac_sdn under the same name as 9 (Kappaline Shipping Ltd.): this removal alone does not "
        "take the party off the list"
    ]
    sent.clear()
    await s.match_batch([enrich(change(ChangeKind.REMOVED, before=twice[1], observed_at=NEXT))], send)
    [alert] = sent
    assert not any("same name" in r for r in alert.reasons)  # the last of them: off ofac_sdn now


async def test_reindex_brings_entries_stored_by_older_name_folding_up_to_date(
    redis: Redis, settings: CommonSettings
) -> None:
    # As the code before diacritics folded left it: the stored core and the index keys keep the accents.
    lists = ListStateStore(redis, settings)
    accented = entry(key="9", name="KARVÉLL DÜNMORE")
    assert await lists.apply(enrich(change(ChangeKind.ADDED, after=accented, observed_at=NEXT)))
    stored = await lists.get("ofac_sdn", "9")
    assert stored is not None
    old_names = [replace_core(v, "karvéll dünmore") for v in stored.enrichment.names]
    stale = build(ListedEntry, {"source": "ofac_sdn", "entry": accented, "event_id": stored.event_id,
                                "enrichment": build(Enrichment, {**stored.enrichment.asdict(), "names": old_names})})
    await redis.hset(settings.redis_key("list", "ofac_sdn"), "9", encode(stale))
    async with redis.pipeline(transaction=True) as pipe:
        RedisIndex(redis, settings, "lidx").replace_many([("ofac_sdn\x1f9", {"t:karvéll", "t:dünmore"})], pipe)
        await pipe.execute()
    assert await lists.candidates(["t:karvell"]) == []

    assert await lists.sources() == ["ofac_sdn"]
    assert await lists.reindex("ofac_sdn") == (1, 1)
    again = await lists.get("ofac_sdn", "9")
    assert again is not None
    assert {v.core for v in again.enrichment.names} == {"karvell dunmore"}
    assert [x.entry.key for x in await lists.candidates(["t:karvell"])] == ["9"]
    assert await lists.candidates(["t:karvéll"]) == []
    assert await lists.reindex("ofac_sdn") == (1, 0)  # nothing left to rewrite


def replace_core(variant: NameVariant, core: str) -> NameVariant:
    return build(NameVariant, {**variant.asdict(), "normalised": core, "core": core, "ascii": core})


def test_the_reindex_command_walks_every_list_and_watchlist(
    env: dict[str, str], settings: CommonSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    async def fill() -> None:
        redis = redis_client(settings)
        try:
            await ListStateStore(redis, settings).apply(enrich(change(ChangeKind.ADDED, after=OLD, observed_at=NEXT)))
            await WatchlistStore(redis, settings).put(WatchEntry(subscriber_id="s1", id="w1", name="Kappaline"))
        finally:
            await redis.aclose()

    async def drop() -> None:  # this test has no redis fixture to clean its namespace up
        redis = redis_client(settings)
        try:
            keys = [k async for k in redis.scan_iter(match=f"{settings.namespace}:*", count=1000)]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()

    asyncio.run(fill())
    try:
        assert main(["reindex"], env) == 0
        lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert lines == [
            {"list": "ofac_sdn", "entries": 1, "rewritten": 0},
            {"subscriber": "s1", "watch_entries": 1},
            {"index": "lists", "stale_postings_removed": 0},
            {"index": "watchlists", "stale_postings_removed": 0},
        ]
    finally:
        asyncio.run(drop())


async def test_reindex_leaves_what_a_worker_wrote_meanwhile(
    redis: Redis, settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    lists = ListStateStore(redis, settings)
    assert await lists.apply(enrich(change(ChangeKind.ADDED, after=OLD, observed_at=FIRST)))
    newer = await ListStateStore(redis, settings).apply_many([renamed()])
    assert newer
    renamed_raw = await redis.hget(settings.redis_key("list", "ofac_sdn"), "7")
    assert await lists.apply(enrich(change(ChangeKind.ADDED, after=OLD, observed_at=FIRST)))  # back to OLD
    # While the reindex works on its page (between its read and its write), a worker renames the entry: from
    # a connection of its own, as a worker process would.
    import streams.list_state as list_state

    real, writes = list_state.enrich_entries, []

    def enrich_and_race(*args: object, **kw: object) -> object:
        if not writes:
            writer = SyncRedis.from_url(settings.redis_url)
            writes.append(writer.hset(settings.redis_key("list", "ofac_sdn"), "7", renamed_raw))
            writer.close()
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(list_state, "enrich_entries", enrich_and_race)
    await lists.reindex("ofac_sdn")
    stored = await lists.get("ofac_sdn", "7")
    assert writes == [0]  # the field existed: the worker's write replaced it
    assert stored is not None
    assert stored.entry.name == RENAMED.name  # the reindex read it again instead of writing back the old entry
    assert [x.entry.name for x in await lists.candidates(["t:marine"])] == [RENAMED.name]
