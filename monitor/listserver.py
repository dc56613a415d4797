"""A local list server: serves sequences of real snapshots per source, as a publisher would.

Layout of ``root``: ``{source}/{snapshot}/{file}`` where a file may be stored gzipped (``name.gz``): it
is then sent as stored with ``Content-Encoding: gzip``, as real servers do. Each source starts at its
first snapshot and advances on ``POST /_advance/{source}`` or on a timer. ETag and Last-Modified are
sent and conditional requests answered with 304. ``POST /_fault/{source}?status=500&times=2`` makes the
next requests fail, and ``?truncate=1`` cuts the next body short while still declaring its full length.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class _Fault:
    status: int = 0
    times: int = 0
    truncate: bool = False


@dataclass(slots=True)
class _Sequence:
    snapshots: list[str]
    index: int = 0
    fault: _Fault = field(default_factory=_Fault)


class ListServer:
    def __init__(self, root: Path, sequences: Mapping[str, Sequence[str]]) -> None:
        self._root = root
        for source, snapshots in sequences.items():
            for snap in snapshots:
                if not (root / source / snap).is_dir():
                    raise FileNotFoundError(f"list server: no snapshot directory {root / source / snap}")
        self._seq = {s: _Sequence(list(snaps)) for s, snaps in sequences.items() if snaps}
        # Requests served per "source/file" (tests check what a client did and did not download).
        self.requests: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/_status", self._status)
        app.router.add_post("/_advance/{source}", self._advance)
        app.router.add_post("/_fault/{source}", self._fault)
        app.router.add_get("/{source}/{file}", self._file)
        return app

    def advance(self, source: str) -> int:
        seq = self._seq[source]
        seq.index = min(seq.index + 1, len(seq.snapshots) - 1)
        return seq.index

    def status(self) -> dict[str, dict[str, object]]:
        return {
            s: {"index": q.index, "snapshot": q.snapshots[q.index], "snapshots": q.snapshots}
            for s, q in self._seq.items()
        }

    async def _status(self, _: web.Request) -> web.Response:
        return web.json_response(self.status())

    async def _advance(self, request: web.Request) -> web.Response:
        source = request.match_info["source"]
        if source not in self._seq:
            raise web.HTTPNotFound(text=f"unknown source {source}")
        self.advance(source)
        return web.json_response(self.status()[source])

    async def _fault(self, request: web.Request) -> web.Response:
        source = request.match_info["source"]
        if source not in self._seq:
            raise web.HTTPNotFound(text=f"unknown source {source}")
        q = request.query
        try:
            fault = _Fault(status=int(q.get("status", 0)), times=int(q.get("times", 1)), truncate="truncate" in q)
        except ValueError:
            raise web.HTTPBadRequest(text="status and times must be integers") from None
        self._seq[source].fault = fault
        return web.json_response({"status": fault.status, "times": fault.times, "truncate": fault.truncate})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        source, name = request.match_info["source"], request.match_info["file"]
        self.requests[f"{source}/{name}"] += 1
        seq = self._seq.get(source)
        if seq is None:
            raise web.HTTPNotFound(text=f"unknown source {source}")
        fault = seq.fault
        if fault.times > 0 and fault.status:
            fault.times -= 1
            return web.Response(status=fault.status, headers={"Retry-After": "0"}, text="injected fault")
        folder = self._root / source / seq.snapshots[seq.index]
        plain, packed = folder / name, folder / (name + ".gz")
        path = packed if packed.is_file() else plain
        if not path.is_file():
            raise web.HTTPNotFound(text=f"{source}/{seq.snapshots[seq.index]} has no {name}")
        body = await asyncio.to_thread(path.read_bytes)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = format_datetime(_EPOCH + timedelta(days=seq.index), usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified, "Content-Type": "application/octet-stream"}
        if path is packed:
            headers["Content-Encoding"] = "gzip"
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag, "Last-Modified": modified})
        if fault.times > 0 and fault.truncate:
            fault.times -= 1
            # Declare the full length, send half, drop the connection: a broken download.
            resp = web.StreamResponse(headers={**headers, "Content-Length": str(len(body))})
            await resp.prepare(request)
            await resp.write(body[: len(body) // 2])
            if request.transport is not None:
                request.transport.close()
            return resp
        return web.Response(body=body, headers=headers)


async def run(server: ListServer, host: str, port: int, advance_every_s: float, stop: asyncio.Event) -> None:
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        while not stop.is_set():
            if advance_every_s <= 0:
                await stop.wait()
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=advance_every_s)
            if not stop.is_set():
                for source in server.status():
                    server.advance(source)
    finally:
        await runner.cleanup()


def parse_sequences(specs: Sequence[str]) -> dict[str, list[str]]:
    """``source=snap1,snap2`` strings -> mapping."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        source, sep, snaps = spec.partition("=")
        if not sep or not source or not snaps:
            raise ValueError(f"--sequence wants SOURCE=SNAPSHOT[,SNAPSHOT...], got {spec!r}")
        out[source] = [s for s in snaps.split(",") if s]
    return out
