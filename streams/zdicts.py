"""Compression dictionaries trained on each list's own entries, for the list state (streams/list_state.py).

An entry alone is too short for a compressor to learn its list's structure: the field names, the programme
and remark phrases every entry repeats. A zstd dictionary trained on a few hundred of the list's entries
holds them (real OFAC entries: 422 bytes each with deflate and a hand-written preset, about 190 with zstd and
a dictionary trained on other entries of the file; compressing takes about 5 us instead of 32).

Kept in Redis beside the lists: ``zdict:{source}`` hash, dictionary number -> the dictionary. A number is
written once (HSETNX: of two workers training at once the first wins, the other loads it) and never changed
or deleted, since every entry written with it names it. A list is trained when it first holds ``train_at``
entries, from a random sample of them; a list smaller than that keeps the preset deflate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

import zstandard as zstd
from redis.asyncio import Redis

from contracts.clients import hgetall_many, text
from contracts.settings import CommonSettings

# Entries a list holds before a dictionary is trained from them (300 gave 195 bytes an entry, 1,000 gave 191).
TRAIN_AT = 500
SAMPLE = 1000
SIZE = 32768  # 8 KB: 204 bytes an entry; 32 KB: 191; 64 KB: 187
LEVEL = 3  # level 1: 196 bytes at about the same speed; 6: 178 at four times the time
# A list without a dictionary is looked at again (has another worker trained one? is it due?) after this long,
# or after this process wrote ``train_at`` of its entries, whichever comes first.
RECHECK_S = 10.0


class MissingDictionary(LookupError):
    """A stored entry names a dictionary Redis does not hold (deleted by hand, or a restore of part of Redis)."""


class Dictionaries:
    """The dictionaries of the lists this process reads and writes, loaded from Redis as they are needed."""

    def __init__(
        self,
        redis: Redis,
        settings: CommonSettings,
        train_at: int = TRAIN_AT,
        recheck_s: float = RECHECK_S,
    ) -> None:
        self._redis = redis
        self._settings = settings
        self._train_at = train_at
        self._recheck_s = recheck_s
        self._writers: dict[str, tuple[int, zstd.ZstdCompressor]] = {}
        self._readers: dict[tuple[str, int], zstd.ZstdDecompressor] = {}
        # per list without a dictionary: when it was last looked at, and how many entries written since
        self._looked: dict[str, tuple[float, int]] = {}

    def _key(self, source: str) -> str:
        return self._settings.redis_key("zdict", source)

    def writer(self, source: str) -> tuple[int, zstd.ZstdCompressor] | None:
        """The dictionary new entries of ``source`` are written with (its number and compressor), if any."""
        return self._writers.get(source)

    def reader(self, source: str) -> Callable[[int], zstd.ZstdDecompressor]:
        """Reads ``source``'s entries: the decompressor of a dictionary number (``need`` loaded it)."""

        def by_number(number: int) -> zstd.ZstdDecompressor:
            found = self._readers.get((source, number))
            if found is None:
                raise MissingDictionary(f"an entry of list {source!r} was written with its dictionary {number}, "
                                        f"which Redis does not hold ({self._key(source)})")  # fmt: skip
            return found

        return by_number

    async def need(self, wanted: Iterable[tuple[str, int]]) -> None:
        """Load the lists that stored entries name a dictionary of which is not loaded yet (one round trip)."""
        await self._load(sorted({source for source, number in wanted if (source, number) not in self._readers}))

    async def before_writing(self, written: dict[str, int]) -> None:
        """Before entries are written (``written``: how many per list): a list never looked at, or without a
        dictionary and due for another look, is loaded (another worker may have trained one)."""
        now = time.monotonic()
        due = []
        for source, count in written.items():
            if source in self._writers:
                continue
            looked = self._looked.get(source)
            if looked is None or now - looked[0] >= self._recheck_s or looked[1] + count >= self._train_at:
                due.append(source)
            else:
                self._looked[source] = (looked[0], looked[1] + count)
        await self._load(due)

    async def train_due(
        self, sources: Iterable[str], stored: Callable[[str], str], plain: Callable[[bytes], bytes | None]
    ) -> list[str]:
        """For each of ``sources`` without a dictionary whose hash (``stored``) holds ``train_at`` entries and
        that was just looked at: train one on a random sample of them (``plain`` gives an entry's bytes before
        compression, None for one written with a dictionary: another worker's, trained meanwhile) and keep the
        first written. Returns the lists trained here."""
        trained = []
        for source in sources:
            looked = self._looked.get(source)
            if source in self._writers or looked is None or looked[1] != 0:
                continue  # has one, or was not looked at for this write
            key = stored(source)
            if await self._redis.hlen(key) < self._train_at:
                continue
            sample: list[bytes] = await self._redis.hrandfield(key, SAMPLE, withvalues=True)  # type: ignore[assignment]
            values: list[bytes | bytearray | memoryview] = [p for p in map(plain, sample[1::2]) if p is not None]
            # about 0.1 s for a thousand entries, once per list: off the event loop (Kafka heartbeats, other agents)
            dictionary = await asyncio.to_thread(zstd.train_dictionary, SIZE, values, level=LEVEL)
            if await self._redis.hsetnx(self._key(source), "1", dictionary.as_bytes()):
                trained.append(source)
            await self._load([source])
        return trained

    async def _load(self, sources: list[str]) -> None:
        if not sources:
            return
        found = await hgetall_many(self._redis, [self._key(source) for source in sources])
        now = time.monotonic()
        for source, stored in zip(sources, found, strict=True):
            numbers = {int(text(n)): bytes(d) for n, d in stored.items()}
            for number, data in numbers.items():
                if (source, number) not in self._readers:
                    self._readers[(source, number)] = zstd.ZstdDecompressor(dict_data=zstd.ZstdCompressionDict(data))
            if numbers:
                last = max(numbers)
                compressor = zstd.ZstdCompressor(
                    level=LEVEL,
                    dict_data=zstd.ZstdCompressionDict(numbers[last]),
                    write_checksum=False,
                    write_dict_id=False,
                )
                self._writers[source] = (last, compressor)
                self._looked.pop(source, None)
            else:
                self._looked[source] = (now, 0)
