"""Downloading a source's files: one aiohttp session, retries with backoff and jitter, conditional GET,
a maximum body size, gzip, redirects. Bodies are spooled to disk, never held whole in memory.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from contracts.http import retry_after_seconds

log = logging.getLogger(__name__)

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_MAX_BACKOFF_S = 300.0


class FetchError(Exception):
    """The file could not be downloaded (after retries, or a status that retrying cannot fix).
    ``reason`` is a bounded label for metrics: forbidden, not_found, server_error, rate_limited, timeout,
    network, too_large or http_other."""

    def __init__(self, message: str, reason: str = "http_other") -> None:
        super().__init__(message)
        self.reason = reason


class NotFound(FetchError):
    """HTTP 404 or 410: the publisher does not (or no longer) serve this file (or the page moved)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "not_found")


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said last time, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
    # Bytes of the body last time: bounds how much the next download of this file may write.
    size: int | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    not_modified: bool
    validators: Validators
    size: int = 0
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 4
    backoff_s: float = 2.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter; the server's Retry-After wins when it asks for longer."""
        base = min(_MAX_BACKOFF_S, self.backoff_s * (2 ** (attempt - 1)))
        delay = random.uniform(base / 2, base)  # noqa: S311 - jitter, not cryptography
        return max(delay, retry_after or 0.0)


class Fetcher:
    """Owns the process's one ClientSession; explicit start/stop."""

    def __init__(
        self, *, timeout_s: float, max_bytes: int, user_agent: str, policy: RetryPolicy, concurrency: int
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(30.0, timeout_s))
        self._max_bytes = max_bytes
        self._user_agent = user_agent
        self._policy = policy
        self._limit = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout,
            headers={"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate"},
            auto_decompress=True,
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self,
        url: str,
        dest: Path,
        validators: Validators | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Download ``url`` into ``dest``; a 304 leaves ``dest`` untouched and says not_modified. The body
        (after decompression) is cut off at ``max_bytes`` (at most the fetcher's own limit): the partial
        file is removed and nothing more is written."""
        if self._session is None:
            raise RuntimeError("Fetcher.fetch() before start()")
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            kind = "network"
            try:
                async with self._limit:
                    limit = min(self._max_bytes, max_bytes or self._max_bytes)
                    return await self._once(self._session, url, dest, validators, attempt, headers, limit)
            except _Retryable as exc:
                retry_after = exc.retry_after
                reason = str(exc)
                kind = "rate_limited" if "429" in reason else "server_error"
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                kind = "timeout" if isinstance(exc, TimeoutError) else "network"
            if attempt > self._policy.retries:
                raise FetchError(f"{url}: giving up after {attempt} attempts; last: {reason}", kind)
            delay = self._policy.delay(attempt, retry_after)
            log.warning("fetch %s failed (%s); retry %d in %.1fs", url, reason, attempt, delay)
            await asyncio.sleep(delay)

    async def _once(
        self,
        session: aiohttp.ClientSession,
        url: str,
        dest: Path,
        validators: Validators | None,
        attempt: int,
        extra: tuple[tuple[str, str], ...],
        limit: int,
    ) -> FetchResult:
        headers = dict(extra)
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        async with session.get(url, headers=headers, allow_redirects=True, max_redirects=10) as resp:
            if resp.status == 304:
                return FetchResult(not_modified=True, validators=validators or Validators(), attempts=attempt)
            if resp.status in _RETRY_STATUS:
                raise _Retryable(f"HTTP {resp.status}", retry_after_seconds(resp.headers.get("Retry-After")))
            if resp.status in {404, 410}:
                raise NotFound(f"{url}: HTTP {resp.status} {resp.reason}")
            if resp.status in {401, 403}:
                # Often a WAF refusing unknown clients: retrying at once will not help.
                raise FetchError(f"{url}: HTTP {resp.status} {resp.reason} (refused; blocked client?)", "forbidden")
            if resp.status != 200:
                raise FetchError(f"{url}: HTTP {resp.status} {resp.reason}")
            declared = resp.content_length
            if declared is not None and resp.headers.get("Content-Encoding") is None and declared > limit:
                raise FetchError(f"{url}: {declared} bytes declared, above the {limit} byte limit", "too_large")
            size = 0
            tmp = dest.with_name(dest.name + ".part")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                # A connection closed before Content-Length bytes raises ClientPayloadError: retried,
                # and never seen as a short (truncated) snapshot.
                async for chunk in resp.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        fh.close()
                        tmp.unlink(missing_ok=True)
                        raise FetchError(f"{url}: body exceeds the {limit} byte limit", "too_large")
                    fh.write(chunk)
            tmp.replace(dest)
            return FetchResult(
                not_modified=False,
                validators=Validators(resp.headers.get("ETag"), resp.headers.get("Last-Modified"), size),
                size=size,
                attempts=attempt,
            )


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
