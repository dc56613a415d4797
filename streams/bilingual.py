"""Chinese and English names of one party, learnt from the lists that give both (cn_sanctions, MOFCOM and
TAO notices, OpenSanctions datasets ...), so that a company watched under its Chinese name only is found on a
list that spells it in English only, and the other way round.

Honest by construction: a translation is only ever a name some list printed beside the other for the same
entry; nothing is machine-translated or transliterated. A party that no bilingual list carries stays
unmatched across scripts (docs/matching.md gives the measured recall).

Keys (owned here): ``bil:en:{latin core}`` hash, Chinese name -> "source|key" that paired them;
``bil:zh:{chinese core}`` hash, Latin name -> "source|key".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from contracts.clients import hgetall_many
from contracts.models import Entry, NameVariant
from contracts.settings import CommonSettings
from streams.enrich.change import entry_names, variants
from streams.enrich.names import name_form


def pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(Latin name, Chinese name) for every two names of one entry in those two scripts."""
    latin = [n for n in names if name_form(n).script == "latin" and name_form(n).core]
    chinese = [n for n in names if name_form(n).script == "cjk" and name_form(n).core]
    return [(en, zh) for en in latin for zh in chinese]


def is_chinese_only(names: Iterable[str]) -> bool:
    scripts = {name_form(n).script for n in names if name_form(n).core}
    return scripts == {"cjk"}


class BilingualStore:
    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        self._redis = redis
        self._settings = settings

    def _key(self, side: str, core: str) -> str:
        return self._settings.redis_key("bil", side, core)

    async def learn_many(self, entries: Iterable[tuple[str, Entry]]) -> None:
        """Remember the entries' name pairs (kept after a delisting: the names still translate each other), in
        one round trip (none when no entry has names in both scripts)."""
        found = [(f"{source}|{entry.key}", pair) for source, entry in entries for pair in pairs(entry_names(entry))]
        if not found:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for origin, (en, zh) in found:
                pipe.hset(self._key("en", name_form(en).core), zh, origin)
                pipe.hset(self._key("zh", name_form(zh).core), en, origin)
            await pipe.execute()

    async def _lookup_many(self, side: str, batch: Iterable[Iterable[str]]) -> list[dict[str, str]]:
        """For each set of name cores, the names ``side``'s hashes pair with them: name -> "source|key". Each
        distinct core is read once, all in one script call."""
        cores = [sorted({c for c in cs if c}) for cs in batch]
        distinct = sorted({c for cs in cores for c in cs})
        if not distinct:
            return [{} for _ in cores]
        # most names of a batch have no pair at all
        read = await hgetall_many(self._redis, [self._key(side, c) for c in distinct])
        rows = dict(zip(distinct, read, strict=True))
        out: list[dict[str, str]] = []
        for cs in cores:
            found: dict[str, str] = {}
            for core in cs:
                for name, origin in rows[core].items():
                    found.setdefault(_text(name), _text(origin))
            out.append(found)
        return out

    async def chinese_names_many(self, batch: Sequence[Sequence[NameVariant]]) -> list[dict[str, str]]:
        """Chinese names that bilingual entries give for each entry's Latin names: name -> "source|key"."""
        return await self._lookup_many("en", ([v.core for v in names if v.script == "latin"] for names in batch))

    async def latin_names(self, names: Sequence[str]) -> dict[str, str]:
        """Latin names that bilingual entries give for these Chinese names: name -> "source|key"."""
        [found] = await self._lookup_many("zh", [[name_form(n).core for n in names if name_form(n).script == "cjk"]])
        return found


def with_names(existing: Sequence[NameVariant], extra: Iterable[str]) -> list[NameVariant]:
    known = {v.original for v in existing}
    return [*existing, *variants(n for n in extra if n not in known)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
