"""The monitor service: polls each source it holds a lease for, publishes changes, keeps state.

One check of a source: download its files (conditional GET) -> same content id as last time? stop ->
parse and guard -> diff against the last good snapshot -> publish (acked) -> save the new state.
Publishing comes before saving: a crash in between republishes the same changes with the same
deterministic event ids, which the streams dedupe drops; saving first could lose them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import random
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urljoin

from contracts.clients import TRANSIENT, Backoff
from monitor.diff import (
    ParsedSnapshot,
    Previous,
    Rejection,
    SnapshotRejected,
    check_shrink,
    diff,
    patch,
    read_snapshot,
)
from monitor.fetch import Fetcher, FetchError, FetchResult, NotFound, Validators
from monitor.metrics import MonitorMetrics, change_label
from monitor.publisher import ChangePublisher
from monitor.settings import MonitorSettings, SourceOverride
from monitor.snapshot import DiskSnapshot
from monitor.sources.base import (
    DeltaOp,
    DeltaSource,
    FileSpec,
    LinkedFiles,
    RecordError,
    SnapshotError,
    Source,
    SourceInfo,
)
from monitor.state import LeaseLost, SnapshotMeta, SnapshotStore

log = logging.getLogger(__name__)

# A bound on crawling: an index page or a paged API never makes one snapshot of more files than this.
_MAX_LINKED_FILES = 2000
_PUBLISH_BATCH = 2000
P = ParamSpec("P")
T = TypeVar("T")


class Outcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    NOT_MODIFIED = "not_modified"
    REJECTED = "rejected"
    FAILED = "failed"


def resolve(info: SourceInfo, override: SourceOverride | None) -> SourceInfo:
    """The source's metadata with the operator's URL, schedule and guard overrides applied."""
    if override is None:
        return info
    files = info.files
    if override.url:
        if len(files) == 1 and not override.url.endswith("/"):
            files = (replace(files[0], url=override.url),)
        else:
            base = override.url if override.url.endswith("/") else override.url + "/"
            files = tuple(replace(f, url=urljoin(base, f.name)) for f in files)
    if override.headers:
        files = tuple(replace(f, headers=f.headers + override.headers) for f in files)
    return replace(
        info,
        files=files,
        schedule_s=override.schedule_s or info.schedule_s,
        min_ratio=override.min_ratio or info.min_ratio,
    )


@dataclass(slots=True)
class _Tracked:
    source: Source
    info: SourceInfo
    next_due: float = 0.0
    task: asyncio.Task[Outcome] | None = None
    retry: Backoff = field(default_factory=lambda: Backoff(base=2.0, cap=60.0))


def _unparsable(info: SourceInfo, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A publisher's index that cannot be read refuses the snapshot, like an unparsable file."""
    try:
        return read(*args, **kwargs)
    except SnapshotError as exc:
        raise SnapshotRejected(Rejection.UNPARSABLE, f"{info.id}: {exc}") from exc


class MonitorService:
    def __init__(
        self,
        settings: MonitorSettings,
        sources: Sequence[Source],
        fetcher: Fetcher,
        store: SnapshotStore,
        publisher: ChangePublisher,
        metrics: MonitorMetrics,
    ) -> None:
        self._settings = settings
        self._fetcher = fetcher
        self._store = store
        self._publisher = publisher
        self.metrics = metrics
        self._tracked = {s.info.id: _Tracked(s, resolve(s.info, settings.overrides.get(s.info.id))) for s in sources}
        self._held: set[str] = set()
        for t in self._tracked.values():
            metrics.schedule.labels(t.info.id).set(t.info.schedule_s)

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._held)

    async def check(self, source_id: str) -> Outcome:
        """Check one source now (the caller holds its lease)."""
        tracked = self._tracked[source_id]
        info = tracked.info
        m = self.metrics
        work = self._settings.work_dir / info.id / uuid.uuid4().hex
        detail = ""
        try:
            outcome = await self._check(tracked.source, info, work)
        except SnapshotRejected as exc:
            detail = f"snapshot rejected ({exc.reason.value}): {exc}; previous state kept"
            log.error("source %s: snapshot REJECTED (%s): %s; previous state kept", info.id, exc.reason, exc)
            m.rejections.labels(info.id, exc.reason.value).inc()
            await self._store.mark_checked(info.id)
            outcome = Outcome.REJECTED
        except FetchError as exc:
            detail = f"fetch failed ({exc.reason}): {exc}; previous state kept"
            log.error("source %s: fetch failed (%s): %s; previous snapshot kept", info.id, exc.reason, exc)
            m.fetch_failures.labels(info.id, exc.reason).inc()
            outcome = Outcome.FAILED
        finally:
            shutil.rmtree(work, ignore_errors=True)
        m.fetches.labels(info.id, outcome.value).inc()
        with contextlib.suppress(*TRANSIENT):  # a verdict lost to an outage is only a display detail
            await self._store.record_verdict(info.id, outcome.value, detail)
        if outcome not in {Outcome.REJECTED, Outcome.FAILED}:
            m.last_success.labels(info.id).set(time.time())
        return outcome

    async def _check(self, source: Source, info: SourceInfo, work: Path) -> Outcome:
        meta = await self._store.meta(info.id)
        self._freshness(info, meta.saved_at, meta.validators)
        if isinstance(source, DeltaSource):
            outcome = await self._check_delta(source, info, meta, work)
            if outcome is not None:
                return outcome
        started = time.monotonic()
        paths, validators, all_not_modified = await self._download(source, info, work, meta.validators)
        self.metrics.fetch_duration.labels(info.id).observe(time.monotonic() - started)
        if all_not_modified:
            await self._store.mark_checked(info.id)
            log.info("source %s: not modified", info.id)
            return Outcome.NOT_MODIFIED
        snapshot = DiskSnapshot(paths)
        snapshot_id = await asyncio.to_thread(snapshot.snapshot_id)
        if snapshot_id == meta.snapshot_id:
            await self._store.mark_checked(info.id, validators)
            log.info("source %s: unchanged (%s)", info.id, snapshot_id[:12])
            return Outcome.UNCHANGED
        previous = None
        if meta.snapshot_id:
            prints, prints_version = await self._store.prints(info.id)
            previous = Previous(await self._store.entries(info.id), prints, prints_version)
        parsed = await asyncio.to_thread(read_snapshot, source, snapshot, snapshot_id, previous)
        version = None
        if isinstance(source, DeltaSource) and source.probe in paths:
            probe = next(f for f in info.files if f.name == source.probe)
            version, _ = _unparsable(info, source.version, await asyncio.to_thread(paths[source.probe].read_bytes),
                                     probe.url)  # fmt: skip
        await self._publish(info, meta, parsed, validators, version, previous.entries if previous else None)
        return Outcome.CHANGED

    async def _publish(
        self, info: SourceInfo, meta: SnapshotMeta, parsed: ParsedSnapshot, validators: Mapping[str, Validators],
        version: str | None, previous: Mapping[str, bytes] | None,
    ) -> None:  # fmt: skip
        """Guard, diff against the saved snapshot, publish the changes, then save the new snapshot."""
        check_shrink(info, meta.count, parsed)
        changes = diff(info.id, previous, meta.snapshot_id, parsed, datetime.now(UTC), info)
        published = 0
        # Published in batches as the diff produces them: a baseline of a million entries is never a
        # million events in memory at once.
        while batch := await asyncio.to_thread(lambda: list(itertools.islice(changes, _PUBLISH_BATCH))):
            await self._publisher.publish(batch)
            published += len(batch)
            for change in batch:
                self.metrics.changes.labels(info.id, change_label(change)).inc()
        prints = (parsed.prints, parsed.prints_version) if parsed.prints is not None and parsed.prints_version else None
        await self._store.save(info.id, parsed.snapshot_id, parsed.entries, validators, version, prints)
        self.metrics.entries.labels(info.id).set(len(parsed.entries))
        reused = parsed.entries.inherited_count()
        self.metrics.records.labels(info.id, "reused").inc(reused)
        # Entries kept for unreadable records (carry_forward) were neither parsed nor reused unread.
        parsed_count = len(parsed.entries) - reused - parsed.carried + parsed.error_count
        self.metrics.records.labels(info.id, "parsed").inc(parsed_count)
        if published:
            self._freshness(info, time.time(), validators)
        log.info(
            "source %s: snapshot %s%s, %d entries, %d changes%s (%d unreadable records, %d of them kept as last seen)",
            info.id, parsed.snapshot_id[:12], f" (version {version})" if version else "", len(parsed.entries),
            published, " (baseline)" if previous is None else "", parsed.error_count, parsed.carried,
        )  # fmt: skip

    async def _fetch(
        self, info: SourceInfo, url: str, dest: Path, headers: tuple[tuple[str, str], ...]
    ) -> FetchResult:
        """An unconditional download of one file, counted in the source's bytes."""
        result = await self._fetcher.fetch(url, dest, None, headers)
        self.metrics.fetch_bytes.labels(info.id).inc(result.size)
        return result

    def _freshness(self, info: SourceInfo, changed_at: float | None, validators: Mapping[str, Validators]) -> None:
        """Set when the list last changed as seen here, and as its publisher says (Last-Modified)."""
        if changed_at:
            self.metrics.last_change.labels(info.id).set(changed_at)
        stamp = validators.get(info.primary.name)
        if stamp is not None and stamp.last_modified:
            with contextlib.suppress(TypeError, ValueError):
                self.metrics.publisher_modified.labels(info.id).set(
                    parsedate_to_datetime(stamp.last_modified).timestamp()
                )

    async def _check_delta(
        self, source: DeltaSource, info: SourceInfo, meta: SnapshotMeta, work: Path
    ) -> Outcome | None:
        """Apply the publisher's deltas since the saved version; None when only the full file will do."""
        if not (meta.snapshot_id and meta.version):
            return None
        probe = next(f for f in info.files if f.name == source.probe)
        work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one local mkdir
        await self._fetch(info, probe.url, work / probe.name, probe.headers)
        data = await asyncio.to_thread((work / probe.name).read_bytes)
        version, delta_url = _unparsable(info, source.version, data, probe.url)
        if version == meta.version:
            await self._store.mark_checked(info.id)
            log.info("source %s: version %s unchanged", info.id, version)
            return Outcome.UNCHANGED
        if version is None or delta_url is None:
            return None
        await self._fetch(info, delta_url, work / "delta-index", probe.headers)
        data = await asyncio.to_thread((work / "delta-index").read_bytes)
        deltas = _unparsable(info, source.versions_after, data, meta.version)
        if not deltas:
            log.info("source %s: no deltas from version %s to %s; downloading in full", info.id, meta.version, version)
            return None
        for spec in deltas:
            await self._fetch(info, urljoin(delta_url, spec.url), work / spec.name, probe.headers)
        previous = await self._store.entries(info.id)
        new_version = deltas[-1].name
        snapshot_id = hashlib.sha256(f"{meta.snapshot_id}+{new_version}".encode()).hexdigest()

        def ops() -> Iterator[DeltaOp | RecordError]:
            for spec in deltas:
                with (work / spec.name).open("rb") as stream:
                    yield from source.read_delta(stream, spec.name)

        parsed = await asyncio.to_thread(patch, info.id, previous, ops(), snapshot_id, info.max_error_rate)
        log.info("source %s: applied %d delta(s) from version %s to %s", info.id, len(deltas), meta.version,
                 new_version)  # fmt: skip
        await self._publish(info, meta, parsed, meta.validators, new_version, previous)
        return Outcome.CHANGED

    async def _download(
        self, source: Source, info: SourceInfo, work: Path, known: Mapping[str, Validators]
    ) -> tuple[dict[str, Path], dict[str, Validators], bool]:
        work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one local mkdir, not worth a thread

        async def one(spec: FileSpec, conditional: bool) -> tuple[FileSpec, bool, Validators] | None:
            last = known.get(spec.name)
            try:
                result = await self._fetcher.fetch(
                    spec.url, work / spec.name, last if conditional else None, spec.headers, self._cap(last)
                )
            except NotFound:
                if spec.required:
                    raise
                if spec.name in known:
                    # A file the last good snapshot had: losing it would rewrite every entry.
                    raise SnapshotRejected(
                        Rejection.MISSING_FILE, f"{info.id}: {spec.name} was published before, now 404"
                    ) from None
                return None  # an optional file this publisher does not serve
            self.metrics.fetch_bytes.labels(info.id).inc(result.size)
            return spec, result.not_modified, result.validators

        fetched = [r for r in await asyncio.gather(*(one(spec, True) for spec in info.files)) if r is not None]
        if all(not_modified for _, not_modified, _ in fetched):
            return {}, {}, True
        # A snapshot needs every file: fetch again in full what the server said was unchanged.
        stale = [spec for spec, not_modified, _ in fetched if not_modified]
        refetched = [r for r in await asyncio.gather(*(one(s, False) for s in stale)) if r is not None]
        results = [r for r in fetched if not r[1]] + refetched
        results += await self._follow(source, info, work, [spec for spec, _, _ in results])
        paths = {spec.name: work / spec.name for spec, _, _ in results}
        return paths, {spec.name: v for spec, _, v in results}, False

    def _cap(self, last: Validators | None) -> int | None:
        """How much one file's download may write: a few times its last size, never less than 64 MiB."""
        if last is None or not last.size:
            return None
        return max(64 * 1024 * 1024, int(last.size * self._settings.http_growth_limit))

    async def _follow(
        self, source: Source, info: SourceInfo, work: Path, fetched: list[FileSpec]
    ) -> list[tuple[FileSpec, bool, Validators]]:
        """Files linked from the downloaded ones (notice pages, next pages), breadth first, bounded."""
        if not isinstance(source, LinkedFiles):
            return []
        seen = {spec.name for spec in fetched}
        queue, out = list(fetched), []
        while queue:
            spec = queue.pop(0)
            data = await asyncio.to_thread((work / spec.name).read_bytes)
            for link in source.linked_files(spec.name, data, spec.url):
                if link.name in seen:
                    continue
                if len(seen) >= _MAX_LINKED_FILES:
                    raise FetchError(f"{info.id}: more than {_MAX_LINKED_FILES} linked files; refusing to crawl on")
                seen.add(link.name)
                result = await self._fetch(info, link.url, work / link.name, link.headers or spec.headers)
                out.append((link, False, result.validators))
                queue.append(link)
        return out

    async def run(self, stop: asyncio.Event) -> None:
        """Hold leases, run due checks, renew; until ``stop`` is set. Releases leases on the way out."""
        ttl = self._settings.lease_ttl_s
        tick = max(0.2, min(5.0, ttl / 3))
        outage = Backoff(base=0.5, cap=10.0)
        try:
            while not stop.is_set():
                try:
                    await self._tick(ttl)
                except TRANSIENT as exc:
                    # Redis (leases, state) is unreachable: keep running, hold nothing, try again.
                    if not outage.failures:
                        log.error("monitor: state store unreachable (%s); retrying with backoff", exc)
                    self.metrics.outages.inc()
                    self._drop_leases()
                    await outage.wait(stop)
                    continue
                if outage.failures:
                    log.info("monitor: state store reachable again after %d tries", outage.failures)
                    outage.reset()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=tick)
        finally:
            tasks = [t.task for t in self._tracked.values() if t.task is not None and not t.task.done()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for source_id in list(self._held):
                with contextlib.suppress(*TRANSIENT):
                    await self._store.release(source_id)
            self._held.clear()

    def _drop_leases(self) -> None:
        """Without Redis no lease can be renewed: stop counting on them until they are acquired again."""
        for source_id in self._held:
            self.metrics.leases.labels(source_id).set(0)
        self._held.clear()

    async def _tick(self, ttl: float) -> None:
        now = time.time()
        for source_id, tracked in self._tracked.items():
            owned = await self._store.acquire(source_id, ttl)
            self.metrics.leases.labels(source_id).set(1 if owned else 0)
            if not owned:
                if source_id in self._held:
                    log.warning("source %s: lease lost to another replica", source_id)
                    self._held.discard(source_id)
                continue
            if source_id not in self._held:
                self._held.add(source_id)
                meta = await self._store.meta(source_id)
                # Take over where the previous owner left off rather than re-polling at once.
                tracked.next_due = (meta.checked_at or 0.0) + tracked.info.schedule_s
                log.info("source %s: lease acquired by %s", source_id, self._store.owner)
            if tracked.task is not None and tracked.task.done():
                self._finish(tracked)
            if tracked.task is None and now >= tracked.next_due:
                tracked.task = asyncio.create_task(self.check(source_id), name=f"check:{source_id}")

    def _finish(self, tracked: _Tracked) -> None:
        task, tracked.task = tracked.task, None
        assert task is not None  # noqa: S101 - only called for a finished task
        exc = task.exception()
        jitter = 1 + random.uniform(0, self._settings.schedule_jitter)  # noqa: S311 - not cryptographic
        delay = tracked.info.schedule_s * jitter
        if isinstance(exc, LeaseLost):
            log.warning("%s", exc)
        elif exc is not None:
            log.error("source %s: check crashed", tracked.info.id, exc_info=exc)
            self.metrics.fetches.labels(tracked.info.id, Outcome.FAILED.value).inc()
            if isinstance(exc, TRANSIENT):
                # Kafka or Redis failed mid-check: nothing was saved, so try again soon, not a schedule later.
                delay = min(delay, tracked.retry.next_delay())
        if exc is None:
            tracked.retry.reset()
        tracked.next_due = time.time() + delay
