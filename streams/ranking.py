"""Ranking an index lookup's members by the rare keys they share with the name looked up: pure functions, no
I/O (streams/index.py reads the postings). Compiled with mypyc like the match stage (streams/native.py): the
ranking walks every posting of a change's keys, hundreds of members, and was a tenth of a change's time.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

# A key shared by more members than this says nothing about any of them (think "t:china"); skipped.
MAX_KEY_MEMBERS = 5000
# Members scored per lookup: the ones sharing the rarest keys with the name looked up. List entries per
# watched company (50 lose nothing on the evaluation's dev part against 200, at a third of the time);
# watch entries per list change, ties kept (many subscribers may watch one company, and all of them must hear
# of it): 100 retrieve on the dev part every watch that 1,000 do (1,082 of 1,089), with at most 221
# candidates instead of 343; scoring them is most of a change's cost.
MAX_CANDIDATES = 50
MAX_WATCH_CANDIDATES = 100

M = TypeVar("M", bound=Hashable)


def rank(postings: Iterable[Iterable[M]], limit: int = MAX_CANDIDATES, ties: bool = False) -> list[M]:
    """The members of the keys' posting lists that share the most *rare* keys with the name looked up: a
    key weighs 1 / log2(1 + its size), so sharing "t:ryonha" says more than sharing "t:korea". Oversized keys
    (more than MAX_KEY_MEMBERS) are skipped. Order by weight, then member, so it is deterministic. With
    ``ties``, members that tie with the last one taken are taken too (all subscribers watching one name hear
    of its change, however many)."""
    return _rank_one([list(members) for members in postings], limit, ties, 0.0, 0.0)  # no floor: every tie taken


def _ordered(members: Collection[M], value: Callable[[M], Any], limit: int) -> list[M]:
    """``members`` by ``value`` (highest first), then by member, down to the ``limit``-th value (those tied
    with it included): the rest is never taken, and sorting only the first costs a fraction (a lookup's
    postings name a few hundred members for fifty or a hundred candidates)."""
    chosen: Iterable[M] = members
    if len(members) > limit > 0:
        cut = heapq.nlargest(limit, map(value, members))[-1]
        chosen = [m for m in members if value(m) >= cut]
    ordered = sorted(chosen, key=str)
    ordered.sort(key=value, reverse=True)  # stable: members of one value stay in their order
    return ordered


def rank_by_name(
    names: Sequence[Sequence[Collection[M]]],
    limit: int = MAX_CANDIDATES,
    ties: bool = False,
    floors: Sequence[float] = (),
    pinned: Collection[M] = (),
    unseen: Sequence[float] = (),
) -> list[M]:
    """``rank`` for something looked up under several names (a list entry and its aliases): per name, the
    share of that name's key weight a member covers; a member's best name counts, then its shared weight.
    Summed over all names, members sharing a few keys of each of several long aliases outranked one that
    shares every key of a short name ("Hoda Trading" among an entry's aliases about electronics and
    sustainability: lost at the cut among 33,705 watches; docs/matching.md). ``floors``, one per name: a
    member covering less than that share of every name is left out; ``pinned`` members (sharing an
    identifier) are always taken. ``unseen``, one per name: the weight of its keys no member holds (1.0 each,
    as a key of one). A member tied at the cut is taken past it only if it passes a floor counting those
    too: ties are kept for the subscribers who watch one name, whose watches cover it alike, not for
    thousands of names that hold the only key of the name anyone holds ("x:ostr" of "Ostrowsky", shared by
    4,985 of a million made-up watches, each covering all of what was found and little of the name)."""
    if len(names) == 1 and not pinned:
        return _rank_one(names[0], limit, ties, floors[0] if floors else 0.0, unseen[0] if unseen else 0.0)
    share: dict[M, float] = {}
    shared: dict[M, float] = {}
    passed: dict[M, bool] = {}  # whether a member reached the floor of a name it shares keys with
    # per name, its members' weights and the weight a floor counting its keys nobody holds asks for (read
    # only for ties past the cut, so nothing more is done per member)
    wholes: list[tuple[dict[M, float], float]] = []
    for n, postings in enumerate(names):
        weights, total = _weighed(postings)
        least = floors[n] if floors else 0.0
        wholes.append((weights, least * (total + (unseen[n] if unseen else 0.0))))
        for member, weight in weights.items():
            covered = weight / total
            passed[member] = passed.get(member, False) or covered >= least
            before = share.get(member)
            if before is None or covered > before or (covered == before and weight > shared[member]):
                share[member], shared[member] = covered, weight
    def value(m: M) -> tuple[float, float]:
        return share[m], shared[m]

    ordered = _ordered([m for m in share if passed[m]], value, limit)

    def wholly(m: M) -> bool:
        return any(weights.get(m, 0.0) >= need for weights, need in wholes)

    taken = _take(ordered, limit, ties, value, wholly)
    if pinned:
        chosen = set(taken)
        taken += sorted((m for m in set(pinned) if m not in chosen and m in share), key=str)
    return taken


def _rank_one(postings: Sequence[Collection[M]], limit: int, ties: bool, least: float, unseen: float) -> list[M]:
    """``rank_by_name`` for one name and nothing pinned (most list entries): a member's share is its weight
    over the name's, which orders as the weight does, so only the weights are kept."""
    weights, total = _weighed(postings)
    need = least * (total + unseen)
    value = weights.__getitem__
    ordered = _ordered([m for m, w in weights.items() if w / total >= least] if least else weights, value, limit)
    return _take(ordered, limit, ties, value, lambda m: weights[m] >= need)


def _weighed(postings: Sequence[Collection[M]]) -> tuple[dict[M, float], float]:
    """A name's members with the weight of the keys each shares, and the weight of all its keys (oversized
    ones and keys nobody holds left out)."""
    weights: dict[M, float] = defaultdict(float)
    total = 0.0
    for members in postings:
        if 0 < len(members) <= MAX_KEY_MEMBERS:
            weight = _key_weight(len(members))
            total += weight
            for member in members:
                weights[member] += weight
    return weights, total


def rank_keyed(
    names: Sequence[Sequence[str]],
    postings: Mapping[str, Collection[M]],
    limit: int = MAX_CANDIDATES,
    ties: bool = False,
    floor: Callable[[Sequence[str]], float] | None = None,
    pins: Callable[[str], bool] | None = None,
    oversized: Collection[str] = (),
) -> list[M]:
    """``rank_by_name`` for names given as their keys, each key's members in ``postings`` (keys it lacks have
    none, unless ``oversized`` says they have too many to be read): ``floor`` gives a name's floor from its
    keys, as a share of all of them but identifiers (a key nobody holds counting as a key of one); the members
    of keys ``pins`` says yes to (identifiers) are always taken."""
    pinned = {m for keys in names for k in keys if pins and k in postings and pins(k) for m in postings[k]}
    found = [[postings[k] for k in keys if k in postings] for keys in names]
    # an identifier nobody watches is no part of a name to cover (every name carries the entry's identifiers)
    unseen = [
        float(sum(k not in postings and k not in oversized and not (pins and pins(k)) for k in keys)) for keys in names
    ]
    return rank_by_name(found, limit, ties, [floor(keys) for keys in names] if floor else [], pinned, unseen)


def _key_weight(size: int) -> float:
    """What sharing a key of ``size`` members says: 1 / log2(1 + size), 1.0 for a key of one."""
    return 1 / math.log2(1 + size) if size > 1 else 1.0


def large_share(keys: Sequence[str], postings: Mapping[str, Collection[str]], sizes: Mapping[str, int]) -> float:
    """The share of a name's key weight (as ``rank_by_name`` weighs it) that its large keys make up: the most
    that a member holding none of its other keys can cover."""
    # float starts: compiled, a sum with the default start (the int 0) is taken for an int
    large = sum((_key_weight(sizes[k]) for k in keys if k in sizes), 0.0)
    total = large + sum((_key_weight(len(postings[k])) for k in keys if k in postings), 0.0)
    return large / total if total else 0.0


def _take(
    ordered: list[M], limit: int, ties: bool, value: Callable[[M], object], tie: Callable[[M], bool] | None = None
) -> list[M]:
    """The first ``limit`` of ``ordered``; with ``ties``, also those whose ``value`` equals the last one's (and
    that ``tie`` accepts, when given)."""
    if len(ordered) <= limit or not ties:
        return ordered[:limit]
    last = value(ordered[limit - 1])
    end = limit
    while end < len(ordered) and value(ordered[end]) == last:
        end += 1
    if tie is None:
        return ordered[:end]
    return ordered[:limit] + [m for m in ordered[limit:end] if tie(m)]
