from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from contracts.settings import CommonSettings
from streams.index import MAX_KEY_MEMBERS, MK_RECORD_MAX, PostingsCache, RedisIndex, rank, rank_by_name


def test_members_sharing_rare_keys_come_first() -> None:
    common = [f"m{i}" for i in range(100)]  # a key a hundred members share ("t:korea")
    rare = ["m42", "m7"]  # a key two share ("t:ryonha")
    assert rank([common, rare], limit=2) == ["m42", "m7"]
    # Two common keys do not outweigh one rare one: 2 / log2(101) < 1 / log2(3).
    assert rank([common, common[:50], rare], limit=1) == ["m42"]


def test_oversized_keys_are_skipped_and_the_order_is_deterministic() -> None:
    huge = [f"x{i}" for i in range(MAX_KEY_MEMBERS + 1)]
    assert rank([huge]) == []
    assert rank([["b", "a", "c"]], limit=2) == ["a", "b"]


def test_ties_at_the_cut_are_kept_only_when_asked() -> None:
    same = [f"w{i}" for i in range(8)]  # eight subscribers watching one name
    assert len(rank([same], limit=5)) == 5
    assert len(rank([same], limit=5, ties=True)) == 8
    assert rank([same, ["w3"]], limit=1, ties=True) == ["w3"]


def test_ranking_orders_only_down_to_the_cut_as_a_full_sort_would() -> None:
    # ``rank`` and ``rank_by_name`` sort only the members down to the cut's weight: the same lists as sorting
    # every member by weight, then by member, and taking the cut (and its ties when asked).
    rng = random.Random(11)
    for _ in range(300):
        members = [f"m{i}" for i in range(rng.randint(1, 40))]
        postings = [rng.sample(members, rng.randint(1, len(members))) for _ in range(rng.randint(1, 6))]
        limit, ties = rng.randint(1, 12), rng.random() < 0.5
        weights: dict[str, float] = {}
        for p in postings:
            for m in p:
                weights[m] = weights.get(m, 0.0) + (1 / math.log2(1 + len(p)) if len(p) > 1 else 1.0)
        full = sorted(weights, key=lambda m: (-weights[m], m))
        end = limit
        while ties and end < len(full) and weights[full[end]] == weights[full[limit - 1]]:
            end += 1
        assert rank(postings, limit, ties) == full[:end]
        # two names: a member's best-covered name counts, then the weight it shares there
        names = [postings, [rng.sample(members, rng.randint(1, len(members))) for _ in range(rng.randint(1, 3))]]
        best: dict[str, tuple[float, float]] = {}
        for name in names:
            got: dict[str, float] = {}
            for p in name:
                for m in p:
                    got[m] = got.get(m, 0.0) + (1 / math.log2(1 + len(p)) if len(p) > 1 else 1.0)
            total = sum(1 / math.log2(1 + len(p)) if len(p) > 1 else 1.0 for p in name)
            for m, w in got.items():
                best[m] = max(best.get(m, (0.0, 0.0)), (w / total, w))
        full = sorted(best, key=lambda m: (-best[m][0], -best[m][1], m))
        end = limit
        while ties and end < len(full) and best[full[end]] == best[full[limit - 1]]:
            end += 1
        assert rank_by_name(names, limit, ties) == full[:end]


def test_by_name_one_name_ranks_as_the_same_name_given_twice() -> None:
    # One name and nothing pinned takes a shorter way (only weights kept); the same name twice takes the
    # general one (share and shared weight per member, floors per name): both must give the same list, with
    # floors, keys nobody holds, ties and cuts drawn at random (ties in weight are common: keys of one size).
    rng = random.Random(12)
    nonempty = 0
    for _ in range(500):
        members = [f"m{i}" for i in range(rng.randint(1, 60))]
        name = [rng.sample(members, rng.randint(1, len(members))) for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.2:
            name.append([])
        limit, ties = rng.randint(1, 30), rng.random() < 0.5
        floor, unseen = rng.choice([0.0, 0.1, 0.3, 0.5, rng.random()]), rng.choice([0.0, 1.0, 3.0])
        one = rank_by_name([name], limit, ties, [floor], unseen=[unseen])
        assert one == rank_by_name([name, name], limit, ties, [floor, floor], unseen=[unseen, unseen])
        nonempty += bool(one)
    assert nonempty > 300  # mostly lists of something: a test of empty lists would pass whatever the code


def test_by_name_the_best_covered_name_counts_not_the_sum_over_names() -> None:
    # An entry of two names: a short one ("Hoda Trading": keys t:hoda, p:HT) and a long alias. "w1" shares
    # both keys of the short name; "w2" and "w3" share two rare keys of the long alias, more weight in sum.
    hoda, ht = ["w1", "x1", "x2"], ["w1", *(f"y{i}" for i in range(30))]
    sustainable, electronics, more = ["w2", "w3"], ["w2", "w3"], [f"z{i}" for i in range(8)]
    short, long_ = [hoda, ht], [sustainable, electronics, more]
    assert rank([*short, *long_], limit=1) != ["w1"]  # summed over every name, the partial match wins
    assert rank_by_name([short, long_], limit=1) == ["w1"]  # w1 covers all of a name; w2 two thirds of one
    # One name: the same order as ``rank``; ties at the cut kept when asked.
    one = [["a", "b", "c"], ["b"]]
    assert rank_by_name([one], limit=3) == rank(one, limit=3) == ["b", "a", "c"]
    assert rank_by_name([[["w1", "w2", "w3"]]], limit=1, ties=True) == ["w1", "w2", "w3"]
    assert rank_by_name([[[f"x{i}" for i in range(MAX_KEY_MEMBERS + 1)]]]) == []


def test_by_name_a_floor_leaves_out_members_covering_little_of_any_name_but_pinned_ones() -> None:
    # One name of four keys, each of one member's weight 1.0: "a" covers all four, "b" two (0.5), "c" one.
    name = [["a", "b"], ["a", "b"], ["a", "c"], ["a", "id"]]
    assert rank_by_name([name], limit=10) == ["a", "b", "c", "id"]
    assert rank_by_name([name], limit=10, floors=[0.3]) == ["a", "b"]
    assert rank_by_name([name], limit=10, floors=[0.3], pinned={"id"}) == ["a", "b", "id"]  # shares an identifier
    assert rank_by_name([name], limit=1, pinned={"id"}) == ["a", "id"]  # kept past the cap too
    # Passing one name's floor is enough: "c" covers a second, short name whole.
    assert rank_by_name([name, [["c"]]], limit=10, floors=[0.3, 0.3]) == ["a", "c", "b"]
    # A name without a floor (a Chinese name's) takes whatever shares its keys.
    other = [["c"], ["x1"], ["x2"], ["x3"], ["x4"]]
    assert rank_by_name([name, other], limit=10, floors=[0.3, 0.3]) == ["a", "b"]
    assert rank_by_name([name, other], limit=10, floors=[0.3, 0.0]) == ["a", "b", "c", "x1", "x2", "x3", "x4"]


def test_by_name_ties_past_the_cut_must_cover_the_name_counting_the_keys_nobody_holds() -> None:
    # A name of five keys of which only one ("x:ostr") is held, by 40 members: each covers all of what was
    # found, so they all tie, and all were taken; counting the four keys nobody holds (1.0 each), each covers
    # 0.19 of 4.19 (a key of 40 weighs 1 / log2(41)).
    held = [[f"w{i}" for i in range(40)]]
    assert len(rank_by_name([held], limit=10, ties=True, floors=[0.3])) == 40
    assert len(rank_by_name([held], limit=10, ties=True, floors=[0.3], unseen=[4.0])) == 10
    assert len(rank_by_name([held], limit=10, ties=True, floors=[0.04], unseen=[4.0])) == 40
    # Twelve subscribers watching one name hold two of its three keys: all of them are taken.
    same = [f"s{i}" for i in range(12)]
    assert len(rank_by_name([[same, same]], limit=5, ties=True, floors=[0.3], unseen=[1.0])) == 12


async def test_ties_past_the_cut_count_keys_nobody_holds_but_not_oversized_ones(
    redis: Redis, settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streams.index

    monkeypatch.setattr(streams.index, "MAX_KEY_MEMBERS", 3)
    index = RedisIndex(redis, settings, "idx")
    for n in range(3):
        await index.replace(f"s\x1fm{n}", {"t:trading", "t:shared"})
    await index.replace("s\x1fother", {"t:trading"})  # "t:trading" now has four members: oversized
    name = ["t:trading", "t:shared", "t:nowhere"]

    async def taken(floor: float) -> int:
        [found] = await index.lookup_by_name_many([[name]], 1, True, lambda _: floor)
        return len(found)

    # "t:shared" weighs 0.5, "t:nowhere" 1.0 as a key nobody holds, the oversized key nothing: each of the
    # three tied members covers a third of the name
    assert await taken(0.3) == 3
    assert await taken(0.4) == 1


async def test_members_under_every_key_of_a_set(redis: Redis, settings: CommonSettings) -> None:
    index = RedisIndex(redis, settings, "idx")
    async with redis.pipeline(transaction=True) as pipe:
        index.replace_many([("a", {"t:kappa", "t:line"}), ("b", {"t:kappa", "t:line", "t:more"}), ("c", {"t:kappa"})],
                           pipe)  # fmt: skip
        await pipe.execute()
    assert await index.all_of_many([["t:kappa", "t:line"], ["t:kappa"], ["t:line", "t:nowhere"], []]) == [
        ["a", "b"], ["a", "b", "c"], [], []
    ]  # fmt: skip
    assert await index.all_of_many([]) == []


async def test_members_under_every_key_equal_the_intersection_whatever_the_keys_sizes(
    redis: Redis, settings: CommonSettings
) -> None:
    # Keys of one member (a bucket field), of a few, of hundreds (a set) and of 2,500 (more than one SMISMEMBER
    # call of a thousand), asked in random combinations: the script's answer is the sets' intersection.
    rng = random.Random(5)
    index = RedisIndex(redis, settings, "idx")
    members = [f"src\x1fm{i}" for i in range(2_600)]
    held: dict[str, set[str]] = {m: set() for m in members}
    sizes = {"t:all": 2_600, "t:most": 2_500, "t:half": 1_300, "t:some": 300, "t:few": 40, "t:pair": 2, "t:one": 1}
    for key, size in sizes.items():
        for m in rng.sample(members, size):
            held[m].add(key)
    for i in range(60):
        for m in rng.sample(members, rng.randint(1, 3)):
            held[m].add(f"t:rare{i}")
    for start in range(0, len(members), 500):
        async with redis.pipeline(transaction=True) as pipe:
            index.replace_many([(m, held[m]) for m in members[start : start + 500]], pipe)
            await pipe.execute()
    keys = [*sorted({k for ks in held.values() for k in ks}), "t:nowhere"]
    asked = [rng.sample(keys, rng.randint(1, 4)) for _ in range(150)]
    asked += [["t:all", "t:most"], ["t:most", "t:half", "t:all"], ["t:all"], ["t:pair", "t:one"], ["t:nowhere"]]
    expected = [sorted(m for m in members if set(ks) <= held[m]) for ks in asked]
    assert await index.all_of_many(asked) == expected
    assert sum(len(e) > 1_000 for e in expected) >= 2


@pytest.mark.parametrize("lazy_above", [64, 2])
async def test_lookups_reading_large_keys_only_as_far_as_needed_rank_as_reading_them_whole(
    redis: Redis, settings: CommonSettings, lazy_above: int
) -> None:
    # Watched names of a common word (a key of about a thousand), a middling one (about a hundred) and six rare
    # ones, some with an identifier, and a key past MAX_KEY_MEMBERS; a batch of lookups by one or two names
    # made of a watched name's keys with some dropped and others added, with floors of 0.12 mostly, 0 (read whole)
    # and 0.3: the index that asks large keys only about the members of smaller ones takes the same
    # candidates, in the same order, as one that reads every key.
    rng = random.Random(lazy_above)
    common, middling = [f"t:common{i}" for i in range(5)], [f"t:middling{i}" for i in range(40)]
    rare = [f"t:rare{i}" for i in range(15_000)]
    held = {
        f"bench\x1fw{i}": {rng.choice(common), rng.choice(middling), *rng.sample(rare, 6), "x:huge"}
        | ({f"id:lei:{i % 300:04d}"} if i % 7 == 0 else set())
        for i in range(MAX_KEY_MEMBERS + 1)
    }
    for start in range(0, len(held), 1000):
        async with redis.pipeline(transaction=True) as pipe:
            RedisIndex(redis, settings, "widx").replace_many(list(held.items())[start : start + 1000], pipe)
            await pipe.execute()
    watched = [sorted(keys) for keys in held.values()]
    floors = [0.0, 0.3, *[0.12] * 8]

    def floor(ks: Sequence[str]) -> float:
        return floors[sum(map(ord, "".join(ks))) % 10]

    def pins(key: str) -> bool:
        return key.startswith("id:")

    def name() -> list[str]:
        keys = [k for k in rng.choice(watched) if rng.random() < 0.7]
        return keys + rng.sample(common + middling + rare + ["t:nowhere", "id:lei:9999"], rng.randint(0, 2))

    batch = [[name() for _ in range(rng.randint(1, 2))] for _ in range(300)]
    # a process keeping what it read (streams/watchlists.py): with room for it all, and with room for a part
    # (the keys past it read as without a cache)
    kept = [PostingsCache(10_000_000), PostingsCache(3_000)]
    for limit, ties in ((5, True), (20, False), (100, True)):
        lazy = await RedisIndex(redis, settings, "widx", lazy_above).lookup_by_name_many(batch, limit, ties, floor, pins)
        whole = await RedisIndex(redis, settings, "widx", None).lookup_by_name_many(batch, limit, ties, floor, pins)
        assert lazy == whole
        assert sum(map(len, whole)) > len(batch)
        for cache in kept:
            cached = RedisIndex(redis, settings, "widx", lazy_above, cache=cache)
            for _ in range(2):  # read and kept, then from what was kept
                assert await cached.lookup_by_name_many(batch, limit, ties, floor, pins) == whole
    assert kept[0].room()
    assert kept[0].postings
    assert not kept[1].room()  # the second ran out of room


async def test_a_large_key_holding_none_of_the_members_it_is_asked_about_gives_no_candidates_from_it(
    redis: Redis, settings: CommonSettings
) -> None:
    # The worker crashed here (an IndexError on the script's empty reply for that key): a name's rare key held
    # by a few members, its common one by many others and by none of those few.
    rare = {f"bench\x1fr{i}": {"t:rare", f"t:own{i}"} for i in range(3)}
    common = {f"bench\x1fc{i}": {"t:common", f"t:other{i}"} for i in range(200)}
    async with redis.pipeline(transaction=True) as pipe:
        RedisIndex(redis, settings, "nidx").replace_many([*rare.items(), *common.items()], pipe)
        await pipe.execute()
    names = [[["t:rare", "t:common"]]]
    lazy = await RedisIndex(redis, settings, "nidx", 2).lookup_by_name_many(names, 10, True, lambda _: 0.5)
    whole = await RedisIndex(redis, settings, "nidx", None).lookup_by_name_many(names, 10, True, lambda _: 0.5)
    assert lazy == whole == [sorted(rare)]
    cached = RedisIndex(redis, settings, "nidx", 2, cache=PostingsCache(10_000))
    for _ in range(2):
        assert await cached.lookup_by_name_many(names, 10, True, lambda _: 0.5) == whole


def _record(member_id: int, keys: set[str]) -> bytes:
    # a member's record as the index writes it: its id and the first 8 hex digits of its joined keys' SHA-1
    digest = hashlib.sha1("\x1e".join(sorted(keys)).encode(), usedforsecurity=False).hexdigest()[:8]
    return f"%{member_id}\x1e{digest}".encode()


def _mk_bucket(prefix: str, member: str) -> str:
    # as the index's script picks it: 16,384 buckets by the member's SHA-1
    digest = hashlib.sha1(member.encode(), usedforsecurity=False).hexdigest()
    return f"{prefix}:mk:{int(digest[:4], 16) % 16384}"


async def test_a_member_keeps_its_id_and_a_digest_of_its_keys_in_one_hash_and_the_older_layouts_are_taken_over(
    redis: Redis, settings: CommonSettings
) -> None:
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    mk = _mk_bucket(prefix, "a")
    first = {"t:kappa", "t:line", "id:lei:529900T8BM49AURSDO55"}

    async def put(member: str, keys: set[str], was: set[str] | None = None) -> None:
        await index.replace(member, keys, was=was)

    await put("a", first)
    assert await redis.hget(mk, "a") == _record(1, first)
    assert await redis.hget(f"{prefix}:im:0", "1") == b"a"  # the id names its member
    await put("a", {"t:kappa", "t:marine"}, was=first)
    assert await redis.hget(mk, "a") == _record(1, {"t:kappa", "t:marine"})  # the same id kept
    assert await index.all_of_many([["t:kappa"], ["t:line"], ["t:marine"]]) == [["a"], [], ["a"]]
    assert await index.orphans() == 0
    await put("a", set(), was={"t:kappa", "t:marine"})
    assert await redis.hexists(mk, "a") == 0
    assert await redis.hexists(f"{prefix}:im:0", "1") == 0
    assert await index.all_of_many([["t:kappa"]]) == [[]]
    # As written before the keys moved into the hash: a set per member, posted under its name. Re-indexing
    # reads it once, drops it, and posts the member under a new id.
    await redis.sadd(f"{prefix}:k:t:old", "ofac_sdn\x1fb")
    await redis.sadd(f"{prefix}:m:ofac_sdn\x1fb", "t:old")
    await put("ofac_sdn\x1fb", {"t:new"})
    assert await index.all_of_many([["t:old"], ["t:new"]]) == [[], ["ofac_sdn\x1fb"]]
    assert await redis.exists(f"{prefix}:m:ofac_sdn\x1fb") == 0
    assert await redis.hget(_mk_bucket(prefix, "ofac_sdn\x1fb"), "ofac_sdn\x1fb") == _record(2, {"t:new"})
    # As written before digests: the record holds the keys, which are used whatever the caller says.
    await redis.hset(_mk_bucket(prefix, "ofac_sdn\x1fb"), "ofac_sdn\x1fb", "#2\x1et:new")
    await put("ofac_sdn\x1fb", {"t:newer"}, was={"t:wrong"})
    assert await index.all_of_many([["t:new"], ["t:newer"]]) == [[], ["ofac_sdn\x1fb"]]
    assert await redis.hget(_mk_bucket(prefix, "ofac_sdn\x1fb"), "ofac_sdn\x1fb") == _record(2, {"t:newer"})
    assert await index.orphans() == 0


async def test_a_worker_of_the_version_before_buckets_indexing_a_member_meanwhile_is_taken_over(
    redis: Redis, settings: CommonSettings
) -> None:
    # In a rolling upgrade an older worker may index a member this code indexed: it reads and writes only the
    # one ``:mk`` hash, so it gives the member an id of its own (2) beside the bucket's (1). As that code
    # leaves it, built by hand: the record in ``:mk``, the id named, posted under its keys.
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    await index.replace("a", {"t:kappa", "t:line"})
    await redis.incr(f"{prefix}:seq")
    await redis.hset(f"{prefix}:mk", "a", "#2\x1et:kappa\x1et:marine")
    await redis.hset(f"{prefix}:im:0", "2", "a")
    for key in ("t:kappa", "t:marine"):
        bucket = f"{prefix}:b:{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:4]}"
        held = await redis.hget(bucket, key)
        await redis.hset(bucket, key, (held + b"\x1e2") if held else b"2")
    assert await index.lookup_many([["t:kappa"]], limit=10) == [["a", "a"]]  # two ids name it
    await index.replace("a", {"t:kappa", "t:new"})
    assert await index.lookup_many([["t:kappa"], ["t:line"], ["t:marine"], ["t:new"]], limit=10) == [
        ["a"], [], [], ["a"]
    ]  # fmt: skip
    assert await redis.hget(_mk_bucket(prefix, "a"), "a") == _record(2, {"t:kappa", "t:new"})  # the newer id kept
    # the bucket's record held a digest only: the postings of its id are left, naming nobody, until a vacuum
    assert await index.orphans() == 1
    assert await index.vacuum() == 2  # id 1 under "t:kappa" and "t:line"
    assert await index.orphans() == 0
    assert await redis.hexists(f"{prefix}:mk", "a") == 0
    assert await redis.hexists(f"{prefix}:im:0", "1") == 0


async def test_member_records_are_compact_buckets_on_a_redis_tuned_as_deployed(
    redis: Redis, settings: CommonSettings
) -> None:
    # Our scripts start Redis with deploy/redis-listwatch.conf; a server started otherwise is reported.
    tuned = int((await redis.config_get("hash-max-listpack-value"))["hash-max-listpack-value"])
    if tuned < MK_RECORD_MAX:
        pytest.fail(f"this Redis keeps hash values compact up to {tuned} bytes: give it "
                    "deploy/redis-listwatch.conf (`make up` applies it to the local one)")  # fmt: skip
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    members = [f"ofac_sdn\x1f{i}" for i in range(60)]
    async with redis.pipeline(transaction=True) as pipe:
        index.replace_many([(m, {f"t:name{i}", "t:shared", f"a:{'x' * 40}{i}"}) for i, m in enumerate(members)], pipe)
        await pipe.execute()
    buckets = {_mk_bucket(prefix, m) for m in members}
    assert {await redis.object("encoding", b) for b in buckets} == {b"listpack"}
    assert await redis.exists(f"{prefix}:mk") == 0


async def test_a_members_record_moves_between_its_bucket_and_the_one_hash(
    redis: Redis, settings: CommonSettings
) -> None:
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    # Written before buckets: the record in the one ``:mk`` hash. Read there, then moved to the bucket.
    await index.replace("a", {"t:kappa"})
    record = await redis.hget(_mk_bucket(prefix, "a"), "a")
    await redis.hdel(_mk_bucket(prefix, "a"), "a")
    await redis.hset(f"{prefix}:mk", "a", record)  # type: ignore[arg-type]
    await index.replace("a", {"t:kappa", "t:line"}, was={"t:kappa"})
    assert await redis.hget(_mk_bucket(prefix, "a"), "a") == _record(1, {"t:kappa", "t:line"})  # the same id
    assert await redis.hexists(f"{prefix}:mk", "a") == 0
    # A record too long for a compact bucket (a member with a very long name) lives in the one hash, and
    # moves back when it is short again; nothing is left behind either way.
    long = "a" * MK_RECORD_MAX
    await index.replace(long, {"t:kappa"})
    assert await redis.hexists(_mk_bucket(prefix, long), long) == 0
    assert await redis.hget(f"{prefix}:mk", long) == _record(2, {"t:kappa"})
    await index.replace(long, {"t:line"}, was={"t:kappa"})
    assert await index.all_of_many([["t:kappa"], ["t:line"]]) == [["a"], sorted(["a", long])]
    await index.replace(long, set(), was={"t:line"})
    assert await redis.hexists(f"{prefix}:mk", long) == 0
    # A record written before digests too long for a bucket (many keys) moves to the bucket once digested.
    many = {f"t:alias{i:03d}" for i in range(60)}
    await redis.hdel(_mk_bucket(prefix, "a"), "a")
    await redis.hset(f"{prefix}:mk", "a", "\x1e".join(["#1", *sorted(many)]))
    await index.replace("a", {"t:kappa"})
    assert await redis.hexists(f"{prefix}:mk", "a") == 0
    assert await redis.hget(_mk_bucket(prefix, "a"), "a") == _record(1, {"t:kappa"})
    await index.replace("a", set(), was={"t:kappa"})
    assert [k async for k in redis.scan_iter(match=f"{prefix}:mk*")] == []


async def test_members_posted_under_their_names_before_ids_are_read_and_moved(
    redis: Redis, settings: CommonSettings
) -> None:
    # As the index before ids wrote it: the member's name in a bucket field and in a set, its keys unmarked.
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    await index.replace("ofac_sdn\x1f7", {"t:shared"})  # today's layout, beside the old one
    old = "ofac_sdn\x1f9"
    [bucket_key] = {k async for k in redis.scan_iter(match=f"{prefix}:b:*")}  # SCAN may repeat a key
    await redis.hset(f"{prefix}:mk", old, "t:shared\x1et:solo")
    await redis.hset(bucket_key, "t:shared", (await redis.hget(bucket_key, "t:shared")) + b"\x1e" + old.encode())  # type: ignore[operator]
    await redis.sadd(f"{prefix}:k:t:solo", old)
    assert await index.lookup_many([["t:shared"], ["t:solo"]], limit=10) == [sorted([old, "ofac_sdn\x1f7"]), [old]]
    assert await index.all_of_many([["t:shared", "t:solo"]]) == [[old]]
    await index.replace(old, {"t:shared", "t:new"})
    assert (await redis.hget(_mk_bucket(prefix, old), old)).startswith(b"%")  # type: ignore[union-attr]
    assert await redis.hexists(f"{prefix}:mk", old) == 0
    assert await redis.exists(f"{prefix}:k:t:solo") == 0
    assert old.encode() not in (await redis.hget(bucket_key, "t:shared") or b"")  # posted under its id now
    assert await index.lookup_many([["t:shared"], ["t:solo"], ["t:new"]], limit=10) == [
        sorted([old, "ofac_sdn\x1f7"]), [], [old]
    ]  # fmt: skip


async def test_shared_keys_hold_ids_as_compact_integer_sets_and_a_vanished_id_is_dropped(
    redis: Redis, settings: CommonSettings
) -> None:
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    members = [f"worldbank\x1f{i}" for i in range(40)]
    async with redis.pipeline(transaction=True) as pipe:
        index.replace_many([(m, {"t:construction", f"n:{m[-2:]}"}) for m in members], pipe)
        await pipe.execute()
    assert await redis.object("encoding", f"{prefix}:k:t:construction") == b"intset"
    [found] = await index.lookup_many([["t:construction"]], limit=100)
    assert sorted(found) == sorted(members)  # ties in the order of their ids
    # A member removed between the lookup's two calls: its id is posted but names nobody; left out.
    await redis.hdel(f"{prefix}:im:0", "3")
    [found] = await index.lookup_many([["t:construction"]], limit=100)
    assert sorted(found) == sorted(m for m in members if m != members[2])


async def test_small_keys_are_fields_of_bucket_hashes_and_grow_into_sets(
    redis: Redis, settings: CommonSettings
) -> None:
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    await index.replace("ofac_sdn\x1f1", {"t:rare", "t:shared"})
    assert await redis.exists(f"{prefix}:k:t:rare", f"{prefix}:k:t:shared") == 0  # no set per key
    assert len([k async for k in redis.scan_iter(match=f"{prefix}:b:*")]) >= 1
    others = [f"ofac_sdn\x1f{i}" for i in range(2, 26)]  # 25 ids ("1" to "25") together pass 64 bytes
    for member in others[:10]:
        await index.replace(member, {"t:shared"})
    assert await redis.exists(f"{prefix}:k:t:shared") == 0  # eleven short ids still fit in the field
    for member in others[10:]:
        await index.replace(member, {"t:shared"})
    assert await redis.scard(f"{prefix}:k:t:shared") == 25  # the key moved into a set, every member with it
    assert await index.lookup_many([["t:shared"], ["t:rare"]], limit=100) == [
        sorted(["ofac_sdn\x1f1", *others]), ["ofac_sdn\x1f1"]
    ]  # fmt: skip
    await index.replace("ofac_sdn\x1f1", set())  # out of a set and out of a bucket field
    assert await index.all_of_many([["t:rare"], ["t:shared"]]) == [[], sorted(others)]
    await index.replace("odd\x1emember", {"t:odd"})  # a member holding the separator: posted as its id
    assert await index.all_of_many([["t:odd"]]) == [["odd\x1emember"]]


@pytest.mark.parametrize("claims", ["right", "wrong"])
async def test_the_index_answers_as_a_plain_mapping_would(redis: Redis, settings: CommonSettings, claims: str) -> None:
    # Random re-indexing of 300 members over a small vocabulary (keys from one member to hundreds), checked
    # against a dict after every round: buckets, sets and the moves between them must never lose a member.
    # The index keeps a digest of each member's keys, the caller says what they were: told right, members
    # keep their ids and nothing is left behind; told wrong (as after a key function changed), the answers
    # are as right, and a vacuum removes every posting left behind.
    rng = random.Random(11)
    index = RedisIndex(redis, settings, "idx")
    prefix = settings.redis_key("idx")
    vocabulary = [f"t:w{i}" for i in range(40)] + [f"n:rare{i}" for i in range(200)]
    members = [f"{rng.choice(['ofac_sdn', 'eu_fsf', 'worldbank'])}\x1f{i:0{rng.randint(1, 30)}d}" for i in range(300)]
    model: dict[str, set[str]] = {}
    for _round in range(6):
        items = []
        was: dict[str, set[str]] = {}
        for member in rng.sample(members, 120):
            keys = set(rng.sample(vocabulary[:40], rng.randint(0, 2)) + rng.sample(vocabulary[40:], rng.randint(0, 2)))
            items.append((member, keys))
            if member in model:
                was[member] = model[member] if claims == "right" else model[member] | {"t:unknown"}
            model[member] = keys
        async with redis.pipeline(transaction=True) as pipe:
            index.replace_many(items, pipe, was)
            await pipe.execute()
        expected = {key: sorted(m for m, ks in model.items() if key in ks) for key in vocabulary}
        looked = await index.all_of_many([[key] for key in vocabulary])
        assert dict(zip(vocabulary, looked, strict=True)) == expected
        pairs = [vocabulary[i : i + 2] for i in range(0, 40, 2)]
        assert await index.all_of_many(pairs) == [sorted(set(expected[a]) & set(expected[b])) for a, b in pairs]
    postings = await _all_postings(redis, prefix)
    if claims == "right":
        assert await index.orphans() == 0
        # every posting names a member that holds the key: nothing left behind
        assert postings == sum(len(ks) for ks in model.values())
        assert await index.vacuum() == 0
    else:
        assert await index.orphans() > 0
        assert postings > sum(len(ks) for ks in model.values())
        assert await index.vacuum() == postings - sum(len(ks) for ks in model.values())
        assert await _all_postings(redis, prefix) == sum(len(ks) for ks in model.values())
        assert await index.orphans() == 0
        looked = await index.all_of_many([[key] for key in vocabulary])
        assert dict(zip(vocabulary, looked, strict=True)) == expected


async def _all_postings(redis: Redis, prefix: str) -> int:
    """How many postings the index's key buckets and key sets hold."""
    count = 0
    # sets: SCAN may return a key more than once (a rehash of Redis's keyspace during the scan)
    for key in {key async for key in redis.scan_iter(match=f"{prefix}:b:*")}:
        count += sum(len(v.split(b"\x1e")) for v in (await redis.hgetall(key)).values())
    for key in {key async for key in redis.scan_iter(match=f"{prefix}:k:*")}:
        count += await redis.scard(key)
    return count


async def test_an_oversized_key_says_nothing_to_a_lookup(
    redis: Redis, settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streams.index

    monkeypatch.setattr(streams.index, "MAX_KEY_MEMBERS", 3)
    index = RedisIndex(redis, settings, "idx")
    for member in ("ofac_sdn\x1f1", "ofac_sdn\x1f2", "ofac_sdn\x1f3", "eu_fsf\x1fEU.4444.55"):
        await index.replace(member, {"t:everyone", f"n:{member[-1]}"})
    # four members: past 64 bytes (a set) and past the limit; the rare key still answers
    assert await index.lookup_many([["t:everyone"], ["t:everyone", "n:5"]], limit=10) == [[], ["eu_fsf\x1fEU.4444.55"]]


async def test_a_key_that_cannot_be_sent_joined_is_a_clear_error(redis: Redis, settings: CommonSettings) -> None:
    # Keys travel to the scripts joined by the record separator: one holding it, or an empty one, would be
    # split into other keys there. Names and identifiers never make such keys; if one came, it must say so.
    index = RedisIndex(redis, settings, "idx")
    async with redis.pipeline(transaction=True) as pipe:
        with pytest.raises(ValueError, match="record separator"):
            index.replace_many([("a", {"t:kappa", "t:ka\x1eppa"})], pipe)
        with pytest.raises(ValueError, match="empty"):
            index.replace_many([("a", {""})], pipe)
    with pytest.raises(ValueError, match="record separator"):
        await index.lookup(["t:ka\x1eppa"])
    # Keys of any other text, Chinese and separators of names included, go through.
    async with redis.pipeline(transaction=True) as pipe:
        index.replace_many([("ofac_sdn\x1f7", {"b:华为", "id:uscc:914403001922038216", "t:kappa"})], pipe)
        await pipe.execute()
    assert await index.lookup(["b:华为"]) == ["ofac_sdn\x1f7"]
    assert await index.all_of_many([["b:华为", "t:kappa"]]) == [["ofac_sdn\x1f7"]]
