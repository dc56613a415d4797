"""The fetcher against hostile bodies served by a real local server: a gzip bomb and an oversized body
stop at the cap with nothing left on disk; a body that ends early is retried, never taken as a short file."""

from __future__ import annotations

import gzip
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.fetch import Fetcher, FetchError, RetryPolicy

BOMB = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB of zeros in about 64 KiB


async def _server(aiohttp_server: Callable[..., Awaitable[TestServer]], sent: list[int]) -> TestServer:
    async def bomb(request: web.Request) -> web.StreamResponse:
        sent.append(len(BOMB))
        return web.Response(body=BOMB, headers={"Content-Encoding": "gzip", "Content-Type": "text/csv"})

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/csv"})  # no length declared
        await resp.prepare(request)
        for _ in range(256):  # 16 MiB unless the client stops reading
            await resp.write(b"x" * 65536)
            sent.append(65536)
        return resp

    app = web.Application()
    app.router.add_get("/bomb.csv", bomb)
    app.router.add_get("/big.csv", big)
    return await aiohttp_server(app)


@pytest.mark.parametrize("path", ["/bomb.csv", "/big.csv"])
async def test_bodies_over_the_cap_stop_there_and_leave_nothing(
    aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path, path: str
) -> None:
    sent: list[int] = []
    server = await _server(aiohttp_server, sent)
    fetcher = Fetcher(timeout_s=30, max_bytes=512 * 1024 * 1024, user_agent="test", policy=RetryPolicy(0, 0.01),
                      concurrency=1)  # fmt: skip
    await fetcher.start()
    try:
        with pytest.raises(FetchError, match="exceeds the 2097152 byte limit"):
            await fetcher.fetch(str(server.make_url(path)), tmp_path / "list.csv", max_bytes=2 * 1024 * 1024)
    finally:
        await fetcher.stop()
    assert os.listdir(tmp_path) == []  # neither the file nor its partial download
    if path == "/big.csv":
        assert sum(sent) < 16 * 1024 * 1024  # the client stopped reading at the cap
