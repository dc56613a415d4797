"""A keyed inverted index in Redis: member -> keys, key -> members. Used for watch entries and for the
materialised lists, so that a lookup touches only the sets of the keys asked for.

Layout under ``{namespace}:{name}``: every member is posted under a number of its own (``:seq`` counts them;
``:im:{id // 100}`` hashes name the member of each id, a hundred to a compact listpack). Key -> ids in
``:b:{bucket}`` hashes (a field per key, its ids joined by the ASCII record separator) while they fit in 64
bytes, in a ``:k:{key}`` set past that (an integer set while it holds ids only, see ``_KEYS_LUA``); and the
``:mk:{bucket}`` hashes, member -> ``%{id}`` and a digest of its keys (a long record, or one written before
buckets, in the ``:mk`` hash). Re-indexing removes what is no longer true from the keys the caller says the
member had, read from what it stores beside the index, when their digest is the record's (``replace_many``);
records written before digests, ``#{id}`` and the keys themselves, are read as they are. Members
posted under their names, as the index wrote them before ids (and, before that, a set of keys per member),
are still read, and move to an id when next indexed. Updates run in one MULTI/EXEC transaction, as one
script call per batch.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from contracts.settings import CommonSettings

# A key shared by more members than this says nothing about any of them (think "t:china"); skipped.
MAX_KEY_MEMBERS = 5000
# Members scored per lookup: the ones sharing the rarest keys with the name looked up. List entries per
# watched company (50 lose nothing on the evaluation's dev part against 200, at a third of the time);
# watch entries per list change, ties kept (many subscribers may watch one company, and all of them must hear
# of it): 100 retrieve on the dev part every watch that 1,000 do (1,082 of 1,089), with at most 221
# candidates instead of 343; scoring them is most of a change's cost.
MAX_CANDIDATES = 50
MAX_WATCH_CANDIDATES = 100
# A key of more members than this is read, in a lookup with a floor, only as far as the ranking needs it
# (``RedisIndex._postings_as_needed``): a change's common words ("x:holdi", "t:bank") name hundreds of watches.
LAZY_KEY_MEMBERS = 64
# The longest member record (member name, its id and keys) kept in a ``:mk:`` bucket: Redis keeps those
# buckets compact only with hash-max-listpack-value at least this (deploy/redis-listwatch.conf says 512).
MK_RECORD_MAX = 480

M = TypeVar("M", bound=Hashable)

# Splits a script argument that ``joined`` made (the record separator is char 30).
LUA_SPLIT = """local function split(joined)
  local out = {}
  for m in string.gmatch(joined, '[^\\30]+') do out[#out + 1] = m end
  return out
end
"""

# Server-side, so that a batch costs one reply to parse instead of one per set touched (redis-py spends more
# per reply than Redis per command). Keys are built from the prefix inside the script: fine on one Redis
# (standalone or Sentinel), not on Redis Cluster, which listwatch does not use.
#
# A key's members live in one of two places. Most keys have one member or a few: they are a field of a bucket
# hash (``:b:{4 hex digits of the key's SHA-1}``, ids joined by the record separator), which Redis keeps as a
# compact listpack while every value is at most 64 bytes; a Redis set of one member costs about 250 bytes, a
# field about 30. A key whose ids no longer fit in 64 bytes moves to a set of its own, ``:k:{key}``, which
# Redis keeps as an integer set (4 bytes an id) up to 512 ids; a set of names (a member posted under its name
# by the index before ids) takes about 60 bytes a member. Both are read as they are.
_KEYS_LUA = """
local SMALL = 64
local function bucket(prefix, key) return prefix .. ':b:' .. string.sub(redis.sha1hex(key), 1, 4) end
-- A member's record (its id and keys) in one of 16,384 ``:mk:`` buckets, a compact listpack where Redis
-- keeps hash values of MK_RECORD_MAX bytes so (deploy/redis-listwatch.conf); a longer record goes to the
-- ``:mk`` hash (a hash table, about 60 bytes more per member).
local MK_SMALL = @MK_RECORD_MAX@
local function mk_bucket(prefix, member)
  return prefix .. ':mk:' .. (tonumber(string.sub(redis.sha1hex(member), 1, 4), 16) % 16384)
end
@SPLIT@-- A key's members; false for a set of more than ``most`` (when given): an oversized key is not read.
-- A key's members when the size of its set is known (0: none, or held in its bucket).
local function members_sized(prefix, key, size)
  if size > 0 then return redis.call('SMEMBERS', prefix .. ':k:' .. key) end
  local joined = redis.call('HGET', bucket(prefix, key), key)
  if joined then return split(joined) end
  return {}
end
local function members_of(prefix, key, most)
  local size = redis.call('SCARD', prefix .. ':k:' .. key)
  if most and size > most then return false end
  return members_sized(prefix, key, size)
end
-- Those of ``asked`` that the set holds, in their order (SMISMEMBER a thousand at a time: Lua's unpack has a
-- limit).
local function held_of(set, asked)
  local held = {}
  for from = 1, #asked, 1000 do
    local part = {unpack(asked, from, math.min(from + 999, #asked))}
    local flags = redis.call('SMISMEMBER', set, unpack(part))
    for j, m in ipairs(part) do
      if flags[j] == 1 then held[#held + 1] = m end
    end
  end
  return held
end
-- A member is posted under its id; the ``:im:{id without its last two digits}`` hashes say whose id it is, a
-- hundred ids to a listpack. A posting that is not all digits is a name posted before ids (the lists' and
-- watchlists' members always hold the unit separator).
local function names(prefix, id)
  local at = string.sub(id, 1, -3)
  if at == '' then at = '0' end
  return prefix .. ':im:' .. at
end
-- The member a posting stands for: '' when its id has gone since (removed between two calls).
local function member_of(prefix, posting)
  if not string.find(posting, '^%d+$') then return posting end
  return redis.call('HGET', names(prefix, posting), posting) or ''
end
local function add(prefix, key, member)
  local set = prefix .. ':k:' .. key
  if redis.call('EXISTS', set) == 1 then
    redis.call('SADD', set, member)
    return
  end
  local b = bucket(prefix, key)
  local joined = redis.call('HGET', b, key)
  local members = {}
  if joined then members = split(joined) end
  for _, m in ipairs(members) do if m == member then return end end
  members[#members + 1] = member
  local new = table.concat(members, '\\30')
  if #new <= SMALL and not string.find(member, '\\30', 1, true) then
    redis.call('HSET', b, key, new)
  else
    redis.call('SADD', set, unpack(members))
    if joined then redis.call('HDEL', b, key) end
  end
end
local function remove(prefix, key, member)
  if redis.call('SREM', prefix .. ':k:' .. key, member) == 1 then return end
  local b = bucket(prefix, key)
  local joined = redis.call('HGET', b, key)
  if not joined then return end
  local keep = {}
  for _, m in ipairs(split(joined)) do if m ~= member then keep[#keep + 1] = m end end
  if #keep == 0 then redis.call('HDEL', b, key) else redis.call('HSET', b, key, table.concat(keep, '\\30')) end
end
""".replace("@MK_RECORD_MAX@", str(MK_RECORD_MAX)).replace("@SPLIT@", LUA_SPLIT)
# ARGV: prefix, then per member: member, its keys joined by the record separator ('' for none), and the keys
# the caller says it is indexed under now (joined; read from what it stored). Keys go joined: redis-py packs
# each argument in Python, about 2 us apiece, a tenth of a baseline change's CPU as one per key.
#
# A member's record holds its id and a digest of its keys (``%{id}<RS>{digest}``), not the keys: they are most
# of a record (about 100 of 120 bytes), and the caller knows them from what it stores beside the index. When
# the digest of the keys the caller names is not the record's (a key function changed by an upgrade, or two
# writers racing on one member), its postings cannot be found: they are left to its old id, which stops
# naming the member (lookups drop such postings), the member gets a new id, and ``:orphans`` counts it for
# ``vacuum``. Records written before (``#{id}<RS>{keys}``) hold their keys, and those are used.
_REPLACE = _KEYS_LUA + """
local prefix = ARGV[1]
local mk = prefix .. ':mk'
local function digest(joined) return string.sub(redis.sha1hex(joined), 1, 8) end
for i = 2, #ARGV, 3 do
  local member, keys, claimed = ARGV[i], split(ARGV[i + 1]), ARGV[i + 2]
  local n = #keys
  local new = {}
  for _, k in ipairs(keys) do new[k] = true end
  -- What the member was posted under so far, and as what: its id, or (written before ids) its name. Its
  -- record is in its ``:mk:`` bucket, or (long, or written before buckets) in the ``:mk`` hash.
  local id, posted, previous = nil, member, {}
  local mkb = mk_bucket(prefix, member)
  local joined = redis.call('HGET', mkb, member)
  local in_mk = redis.call('HGET', mk, member)
  local in_bucket = joined
  if joined and in_mk then
    -- In both places: a worker of the version before buckets (which reads and writes ``:mk`` only) indexed
    -- the member after this code did, under an id of its own. Its record is the newer one; the bucket's id
    -- and postings go.
    local stale = split(joined)
    local sid = string.match(stale[1], '^[#%%](%d+)$')
    if sid and sid ~= string.match(in_mk, '^[#%%](%d+)') then
      if string.sub(stale[1], 1, 1) == '#' then
        table.remove(stale, 1)
        for _, k in ipairs(stale) do remove(prefix, k, sid) end
      else
        redis.call('INCR', prefix .. ':orphans')  -- a record of its digest only: its postings are left
      end
      redis.call('HDEL', names(prefix, sid), sid)
    end
  end
  joined = in_mk or joined
  if joined then
    previous = split(joined)
    local mark = string.sub(previous[1], 1, 1)
    if mark == '#' then
      id = string.sub(table.remove(previous, 1), 2)
      posted = id
    elseif mark == '%' then
      id = string.sub(previous[1], 2)
      if previous[2] == digest(claimed) then
        previous, posted = split(claimed), id
      else
        redis.call('HDEL', names(prefix, id), id)
        redis.call('INCR', prefix .. ':orphans')
        id, previous = nil, {}
      end
    end
  else
    -- Written before the keys moved into one hash (a set per member): read once, then dropped.
    local legacy = prefix .. ':m:' .. member
    previous = redis.call('SMEMBERS', legacy)
    redis.call('DEL', legacy)
  end
  if n > 0 and not id then
    id = tostring(redis.call('INCR', prefix .. ':seq'))
    redis.call('HSET', names(prefix, id), id, member)
  end
  local kept = {}
  for _, k in ipairs(previous) do
    if posted == id and new[k] then kept[k] = true else remove(prefix, k, posted) end
  end
  for _, k in ipairs(keys) do
    if not kept[k] then add(prefix, k, id) end
  end
  local record = n > 0 and '%' .. id .. '\\30' .. digest(ARGV[i + 1])
  local small = record and #record + #member <= MK_SMALL
  -- the record where it now belongs, and gone from where it was
  if small then redis.call('HSET', mkb, member, record) elseif in_bucket then redis.call('HDEL', mkb, member) end
  if record and not small then
    redis.call('HSET', mk, member, record)
  elseif in_mk then
    redis.call('HDEL', mk, member)
  end
  if not record and id then redis.call('HDEL', names(prefix, id), id) end
end
return 1
"""
# ARGV: prefix, the most members a usable key may have, the keys joined. Per key: its members (an empty list
# when it has none), or -1 when it has too many (an oversized key says nothing and is not read).
_LOOKUP = _KEYS_LUA + """
local prefix, most = ARGV[1], tonumber(ARGV[2])
local out = {}
for i, key in ipairs(split(ARGV[3])) do out[i] = members_of(prefix, key, most) or -1 end
return out
"""

# ARGV: prefix, most, lazy, keys read in full (joined), keys read only up to ``lazy`` members (joined). Per key
# in that order, as _LOOKUP; but a key of the second kind with more than ``lazy`` members (a set) gives its
# size instead, read later only as far as needed (``_PART``).
_SIZES = _KEYS_LUA + """
local prefix, most, lazy = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i, key in ipairs(split(ARGV[4])) do out[#out + 1] = members_of(prefix, key, most) or -1 end
for i, key in ipairs(split(ARGV[5])) do
  local size = redis.call('SCARD', prefix .. ':k:' .. key)
  if size > most then out[#out + 1] = -1
  elseif size > lazy then out[#out + 1] = size
  else out[#out + 1] = members_sized(prefix, key, size) end  -- its size read once
end
return out
"""

# ARGV: prefix, then per key: the key and the postings to ask it about (joined; '' for all of them). Per key,
# those of them it holds (``held_of``), or all its members.
_PART = _KEYS_LUA + """
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  local set = prefix .. ':k:' .. ARGV[i]
  if ARGV[i + 1] == '' then
    out[#out + 1] = redis.call('SMEMBERS', set)
  else
    out[#out + 1] = held_of(set, split(ARGV[i + 1]))
  end
end
return out
"""

# ARGV: prefix, postings (as _LOOKUP returns them) joined. Per posting, the member it stands for ('' if gone).
_MEMBERS = _KEYS_LUA + """
local out = {}
for i, posting in ipairs(split(ARGV[2])) do out[i] = member_of(ARGV[1], posting) end
return out
"""

# ARGV: prefix, then names of ``:b:`` bucket hashes and ``:k:`` sets. Drops from them every posting whose id no
# longer names a member (left by a member whose keys could not be found, see _REPLACE). How many dropped.
_VACUUM = _KEYS_LUA + """
local prefix = ARGV[1]
local dropped = 0
for i = 2, #ARGV do
  local key = ARGV[i]
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'hash' then
    local flat = redis.call('HGETALL', key)
    for j = 1, #flat, 2 do
      local postings, keep = split(flat[j + 1]), {}
      for _, p in ipairs(postings) do if member_of(prefix, p) ~= '' then keep[#keep + 1] = p end end
      if #keep < #postings then
        dropped = dropped + #postings - #keep
        if #keep == 0 then redis.call('HDEL', key, flat[j])
        else redis.call('HSET', key, flat[j], table.concat(keep, '\\30')) end
      end
    end
  elseif kind == 'set' then
    for _, p in ipairs(redis.call('SMEMBERS', key)) do
      if member_of(prefix, p) == '' then
        redis.call('SREM', key, p)
        dropped = dropped + 1
      end
    end
  end
end
return dropped
"""

# ARGV: prefix, then per key set its keys (joined). Per key set: the members under every one of its keys. A
# key held in a bucket field (a few ids) is read whole; a key held in a set is only asked about the members
# still in common, from the smallest set up (``held_of``): a list entry's own rarest key
# leaves one or two to ask about, where reading every member of its common words' sets was most of a change's
# Redis time with names that share words by the hundred.
_ALL_OF = _KEYS_LUA + """
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local small, large = {}, {}
  for _, key in ipairs(split(ARGV[i])) do
    local set = prefix .. ':k:' .. key
    local size = redis.call('SCARD', set)
    if size > 0 then
      large[#large + 1] = {set, size}
    else
      local joined = redis.call('HGET', bucket(prefix, key), key)
      small[#small + 1] = joined and split(joined) or {}
    end
  end
  table.sort(large, function(a, b) return a[2] < b[2] end)
  local common = nil
  for _, members in ipairs(small) do
    local here = {}
    for _, m in ipairs(members) do
      if common == nil or common[m] then here[m] = true end
    end
    common = here
  end
  for _, at in ipairs(large) do
    local here = {}
    if common == nil then
      for _, m in ipairs(redis.call('SMEMBERS', at[1])) do here[m] = true end
    else
      local left = {}
      for m in pairs(common) do left[#left + 1] = m end
      for _, m in ipairs(held_of(at[1], left)) do here[m] = true end
    end
    common = here
  end
  local found = {}
  if common then
    for m in pairs(common) do
      local name = member_of(prefix, m)
      if name ~= '' then found[#found + 1] = name end
    end
  end
  out[#out + 1] = found
end
return out
"""


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


def _large_share(keys: Sequence[str], postings: Mapping[str, Collection[str]], sizes: Mapping[str, int]) -> float:
    """The share of a name's key weight (as ``rank_by_name`` weighs it) that its large keys make up: the most
    that a member holding none of its other keys can cover."""
    large = sum(_key_weight(sizes[k]) for k in keys if k in sizes)
    total = large + sum(_key_weight(len(postings[k])) for k in keys if k in postings)
    return large / total if total else 0.0


class _Held(Collection[str]):
    """The members of a large key that a lookup asked about, counted as the key's full size: its weight in the
    ranking is its size's, its members those that can matter."""

    __slots__ = ("_members", "_size")

    def __init__(self, members: list[str], size: int) -> None:
        self._members, self._size = members, size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __contains__(self, member: object) -> bool:
        return member in self._members


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


def _asked(members: list[str], ask: set[str] | None, size: int) -> Collection[str]:
    """What ``_PART`` gives for a large key asked about ``ask`` (None: all of it), from its members read whole:
    those of ``ask`` it holds, in their sorted order, standing for its full size."""
    if ask is None:
        return members
    held = set(members)
    return _Held([m for m in sorted(ask) if m in held], size)


class PostingsCache:
    """An index's postings as read by lookups, kept by a process for the next ones: keys read whole (small
    ones, and large ones once, up to ``max_postings`` in all), oversized keys, and the members of ids. Only for
    an index whose writers count a generation, which its owner compares before each lookup and on a change
    calls ``clear`` (streams/watchlists.py: the watch index)."""

    def __init__(self, max_postings: int) -> None:
        self._max = max_postings
        self.postings: dict[str, list[str]] = {}
        self.oversized: set[str] = set()
        self.names: dict[str, str] = {}
        self._count = 0

    def clear(self) -> None:
        self.postings, self.oversized, self.names, self._count = {}, set(), {}, 0

    def room(self) -> bool:
        return self._count < self._max

    def keep(self, key: str, members: list[str]) -> None:
        if self.room():
            self.postings[key] = members
            self._count += len(members) + 1

    def keep_names(self, names: Mapping[str, str]) -> None:
        """Ids' members as ``_MEMBERS`` read them ('' for an id that has gone: not kept)."""
        if self.room():
            self.names.update((posting, name) for posting, name in names.items() if name)
            self._count += len(names)


class VacuumRunning(RuntimeError):
    """Another process is vacuuming this index."""


class RedisIndex:
    """``lazy_above``: in lookups with a floor, a key of more members than this is read only as far as the
    ranking needs it (``lookup_by_name_many``); None reads every key in full."""

    def __init__(
        self, redis: Redis, settings: CommonSettings, name: str, lazy_above: int | None = LAZY_KEY_MEMBERS,
        cache: PostingsCache | None = None,
    ) -> None:  # fmt: skip
        self._redis = redis
        self._prefix = settings.redis_key(name)
        self._lazy_above = lazy_above
        self._cache = cache

    async def replace(
        self, member: str, keys: Iterable[str], pipe: Pipeline | None = None, was: Iterable[str] | None = None
    ) -> None:
        """Index ``member`` under exactly ``keys`` (nothing when empty), in ``pipe`` if given; ``was``: the keys
        it is indexed under now, as the caller computes them from what it stored (None: the same as ``keys``)."""
        items = [(member, set(keys))]
        previous = None if was is None else {member: set(was)}
        if pipe is None:
            async with self._redis.pipeline(transaction=True) as own:
                self.replace_many(items, own, previous)
                await own.execute()
        else:
            self.replace_many(items, pipe, previous)

    def replace_many(
        self, items: list[tuple[str, set[str]]], pipe: Pipeline, was: Mapping[str, set[str]] | None = None
    ) -> None:
        """``replace`` for many members, queued in ``pipe`` as one script call (nothing awaited, so it can be
        queued inside a MULTI after WATCH). ``was``: per member, the keys it is indexed under now (a member not
        in it is taken to be indexed under its new keys, or not at all). The index keeps a digest of a member's
        keys, not the keys: the right ``was`` lets it remove the postings that are no longer true; a wrong one
        leaves them to an id that no longer names the member (dropped by lookups, removed by ``vacuum``)."""
        if not items:
            return
        args: list[str] = [self._prefix]
        for member, keys in items:
            new = joined(keys)
            args += [member, new, new if was is None or member not in was else joined(was[member])]
        pipe.eval(_REPLACE, 0, *args)

    async def orphans(self) -> int:
        """Members re-indexed since the last ``vacuum`` whose previous postings could not be found."""
        return int(await self._redis.get(self._prefix + ":orphans") or 0)

    async def vacuum(self, page: int = 200, lease_s: int = 3600) -> int:
        """Remove the postings left to ids that no longer name a member, when there are any (``orphans``): a
        scan of every key bucket and key set, ``page`` to a script call. How many postings were removed. One
        vacuum at a time per index (a lease of ``lease_s``): a second would count the same orphans off twice."""
        orphans = await self.orphans()
        if orphans <= 0:
            return 0
        lease = self._prefix + ":vacuuming"
        if not await self._redis.set(lease, "1", nx=True, ex=lease_s):
            raise VacuumRunning(f"{self._prefix}: another vacuum is running (lease {lease!r}); try again when it ends")
        try:
            return await self._vacuum(orphans, page)
        finally:
            await self._redis.delete(lease)

    async def _vacuum(self, orphans: int, page: int) -> int:
        dropped = 0
        batch: list[bytes] = []
        for pattern in (":b:*", ":k:*"):
            async for key in self._redis.scan_iter(match=self._prefix + pattern, count=1000):
                batch.append(key)
                if len(batch) >= page:
                    dropped += int(await self._redis.eval(_VACUUM, 0, self._prefix, *batch))
                    batch = []
        if batch:
            dropped += int(await self._redis.eval(_VACUUM, 0, self._prefix, *batch))
        # what was counted before the scan is done; members orphaned meanwhile stay counted for the next one
        await self._redis.decrby(self._prefix + ":orphans", orphans)
        return dropped

    async def all_of_many(self, keysets: Sequence[Iterable[str]]) -> list[list[str]]:
        """Per key set, the members indexed under every one of its keys (none for an empty set): one script
        call for the batch, each an intersection that Redis walks from its smallest key (``_ALL_OF``)."""
        args: list[str] = [self._prefix, *(joined(set(keys)) for keys in keysets)]
        if len(args) == 1:
            return []
        found = await self._redis.eval(_ALL_OF, 0, *args)
        return [sorted(map(_text, members)) for members in found]

    async def lookup(self, keys: Iterable[str], limit: int = MAX_CANDIDATES, ties: bool = False) -> list[str]:
        """The members ``rank`` puts first."""
        [found] = await self.lookup_many([keys], limit, ties)
        return found

    async def lookup_many(
        self, keysets: Sequence[Iterable[str]], limit: int = MAX_CANDIDATES, ties: bool = False
    ) -> list[list[str]]:
        """``lookup`` for a batch: every distinct key read once, in one script call, then each key set ranked
        on its own."""
        wanted = [sorted(set(keys)) for keys in keysets]
        postings, _ = await self._postings({key for keys in wanted for key in keys})
        ranked = [rank((postings[k] for k in keys if k in postings), limit, ties) for keys in wanted]
        return await self._named(ranked)

    async def lookup_by_name_many(
        self,
        namesets: Sequence[Sequence[Iterable[str]]],
        limit: int = MAX_CANDIDATES,
        ties: bool = False,
        floor: Callable[[Sequence[str]], float] | None = None,
        pins: Callable[[str], bool] | None = None,
    ) -> list[list[str]]:
        """Per item, the members ``rank_keyed`` puts first among its names' keys (one key set per name): every
        distinct key read once for the batch, as in ``lookup_many``."""
        wanted = [[sorted(set(keys)) for keys in names] for names in namesets]
        postings: Mapping[str, Collection[str]]
        if floor is None or self._lazy_above is None:
            postings, oversized = await self._postings({key for names in wanted for keys in names for key in keys})
        else:
            postings, oversized = await self._postings_as_needed(wanted, floor, pins, self._lazy_above)
        return await self._named(
            [rank_keyed(names, postings, limit, ties, floor, pins, oversized) for names in wanted]
        )

    async def _postings_as_needed(
        self, wanted: list[list[list[str]]], floor: Callable[[Sequence[str]], float],
        pins: Callable[[str], bool] | None, lazy: int,
    ) -> tuple[dict[str, Collection[str]], set[str]]:  # fmt: skip
        """``_postings`` for ``rank_keyed`` with a floor, where keys of more than ``lazy`` members are read only
        as far as the ranking needs them. A member that holds none of an item's smaller keys can only reach a
        share of its names' weight that their large keys make up together; where that share is under the
        floor for every name (common words beside rare ones), such members are never candidates. Then a large
        key is only asked about the members of the item's smaller keys, and stands in the ranking as those of
        them it holds with its full size (``_Held``); the candidates and their order are what reading it whole
        gives (tests/streams/test_index.py). Otherwise, or for an identifier key, it is read whole. With a
        ``PostingsCache``, keys it holds are not read again, and a large key is read whole once while it has
        room, then asked about members here."""
        every = sorted({key for names in wanted for keys in names for key in keys})
        if not every:
            return {}, set()
        cache = self._cache
        postings: dict[str, Collection[str]] = {}
        oversized: set[str] = set()
        sizes: dict[str, int] = {}
        kept: dict[str, list[str]] = {}  # large keys the cache holds whole
        if cache is not None:
            unread = []
            for key in every:
                if key in cache.oversized:
                    oversized.add(key)
                elif (whole_read := cache.postings.get(key)) is None:
                    unread.append(key)
                elif len(whole_read) > lazy and not (pins is not None and pins(key)):
                    sizes[key], kept[key] = len(whole_read), whole_read
                elif whole_read:
                    postings[key] = whole_read
            every = unread
        whole = [k for k in every if pins is not None and pins(k)]
        maybe = [k for k in every if not (pins is not None and pins(k))]
        if every:
            found = await self._redis.eval(
                _SIZES, 0, self._prefix, MAX_KEY_MEMBERS, lazy, joined(whole), joined(maybe)
            )
            for key, got in zip(whole + maybe, found, strict=True):
                if isinstance(got, list):
                    texts = _texts(got)
                    if texts:
                        postings[key] = texts
                    if cache is not None:
                        cache.keep(key, texts)
                elif int(got) < 0:
                    oversized.add(key)
                    if cache is not None:
                        cache.oversized.add(key)
                else:
                    sizes[key] = int(got)
        if not sizes:
            return postings, oversized
        asked: dict[str, set[str] | None] = {}  # large key -> the members to ask it about (None: all)
        for names in wanted:
            large = {k for keys in names for k in keys if k in sizes}
            if not large:
                continue
            if all(_large_share(keys, postings, sizes) < floor(keys) * (1 - 1e-9) for keys in names):
                held = {m for keys in names for k in keys if k in postings for m in postings[k]}
                for key in large:
                    if (ask := asked.setdefault(key, set())) is not None:
                        ask.update(held)
            else:
                asked.update(dict.fromkeys(large))
        # A large key the cache has room for is read whole, once, and asked about its members here after.
        whole_to_keep = cache is not None and cache.room()
        args: list[str] = [self._prefix]
        for key, ask in asked.items():
            if key in kept:
                postings[key] = _asked(kept[key], ask, sizes[key])
            elif whole_to_keep:
                args += [key, ""]
            elif ask is None or ask:
                args += [key, joined(ask) if ask else ""]
            else:
                postings[key] = _Held([], sizes[key])
        if len(args) > 1:
            parts = await self._redis.eval(_PART, 0, *args)
            for key, part in zip(args[1::2], parts, strict=True):
                texts = _texts(part)
                if whole_to_keep and cache is not None:
                    cache.keep(key, texts)
                    postings[key] = _asked(texts, asked[key], sizes[key])
                else:
                    postings[key] = texts if asked[key] is None else _Held(texts, sizes[key])
        return postings, oversized

    async def _postings(self, keys: set[str]) -> tuple[dict[str, list[str]], set[str]]:
        """Each key's postings (ids, or names written before ids), in one script call; none for keys without
        any or with too many, and which keys have too many."""
        distinct = sorted(keys)
        if not distinct:
            return {}, set()
        found = await self._redis.eval(_LOOKUP, 0, self._prefix, MAX_KEY_MEMBERS, joined(distinct))
        postings = {k: _texts(ps) for k, ps in zip(distinct, found, strict=True) if isinstance(ps, list) and ps}
        return postings, {k for k, ps in zip(distinct, found, strict=True) if not isinstance(ps, list)}

    async def _named(self, ranked: list[list[str]]) -> list[list[str]]:
        # Ranked by id, then named: only the members taken are looked up (a second round trip, a small one).
        chosen = sorted({p for ps in ranked for p in ps})
        if not chosen:
            return [[] for _ in ranked]
        known = self._cache.names if self._cache is not None else {}
        named = {p: known[p] for p in chosen if p in known}
        unknown = [p for p in chosen if p not in named]
        if unknown:
            found = dict(zip(unknown, map(_text, await self._redis.eval(_MEMBERS, 0, self._prefix, joined(unknown))),
                             strict=True))  # fmt: skip
            named.update(found)
            if self._cache is not None:
                self._cache.keep_names(found)
        return [[named[p] for p in ps if named[p]] for ps in ranked]


def joined(keys: Iterable[str], what: str = "an index key") -> str:
    """Keys (or postings, or watch ids) as one script argument, sorted, joined by the record separator, which no
    key holds: names are folded to words and identifiers have whitespace (the separator is whitespace) removed;
    ``what`` names them in the error."""
    ordered = sorted(keys)
    if bad := [k for k in ordered if not k or _RS in k]:
        raise ValueError(f"{what} is empty or holds the record separator: {bad!r}")
    return _RS.join(ordered)


_RS = "\x1e"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _texts(values: list[bytes] | list[str]) -> list[str]:
    # One reply holds one type: tested once, not per posting (a change reads over a hundred postings). An
    # empty reply (a large key holding none of the members it was asked about) is no postings.
    if not values:
        return []
    return [v.decode() for v in values] if isinstance(values[0], bytes) else values
