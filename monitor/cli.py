"""The monitor's commands: list the sources, diff two snapshots offline, run the service, serve snapshots."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from contracts.cli import EXIT_REJECTED, EXIT_USAGE
from contracts.models import change_event_id
from monitor.diff import RawChange, SnapshotRejected, content_of, field_diff
from monitor.pair import diff_output
from monitor.snapshot import from_path
from monitor.sources import registry
from monitor.sources.base import LinkedFiles, SnapshotError, Source


def change_json(source: str, change: RawChange) -> dict[str, Any]:
    """The stable, documented shape printed by ``listwatch diff``: the ListChange's change, source, key,
    current name, event id and changed fields, read straight from the entries' canonical JSON."""
    before = content_of(change.before) if change.before is not None else None
    after = content_of(change.after) if change.after is not None else None
    current = after if after is not None else before
    if current is None:
        raise ValueError(f"{source} {change.key}: a change without an entry")
    out: dict[str, Any] = {
        "change": change.kind.value,
        "source": source,
        "key": change.key,
        "name": current["name"],
        "event_id": change_event_id(source, change.key, change.kind.value, change.before, change.after),
    }
    if before is not None and after is not None and (fields := field_diff(before, after)):
        out["fields"] = {name: [old, new] for name, old, new in fields}
    return out


def sources_from(env: Mapping[str, str]) -> dict[str, Source]:
    """Built-in sources plus the feeds configured in the environment."""
    from monitor.settings import datasets_from_env, feeds_from_env

    return registry(feeds_from_env(env), datasets_from_env(env))


def cmd_sources(_: argparse.Namespace, env: Mapping[str, str]) -> int:
    for source in sources_from(env).values():
        info = source.info
        print(f"{info.id:<14} {info.kind.value:<15} {info.publisher} | {info.title}")
        print(f"{'':<14} url: {info.primary.url}")
        print(f"{'':<14} key: {info.key}; every {info.schedule_s}s")
        if info.cosmetic_fields:
            print(f"{'':<14} cosmetic (recorded, never alerted): {', '.join(sorted(info.cosmetic_fields))}")
    return 0


def cmd_diff(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    sources = sources_from(env)
    source = sources.get(args.source)
    if source is None:
        print(f"listwatch diff: unknown source {args.source!r}; see `listwatch sources`", file=sys.stderr)
        return EXIT_USAGE
    try:
        linked = isinstance(source, LinkedFiles)
        old_files = from_path(source.info, Path(args.old), linked=linked)
        new_files = from_path(source.info, Path(args.new), linked=linked)
    except SnapshotError as exc:
        print(f"listwatch diff: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = sys.stdout.buffer
    # Named by their paths: a content id (hashing both files) would be printed nowhere.
    chunks = diff_output(source, old_files, new_files, (args.old, args.new), partial(change_line, source.info.id),
                         workers=args.jobs)  # fmt: skip
    try:
        for chunk in chunks:
            out.write(chunk)
    except SnapshotRejected as exc:
        side = (exc.side or "new").upper()
        print(f"listwatch diff: {side} snapshot rejected ({exc.reason}): {exc}", file=sys.stderr)
        return EXIT_REJECTED
    out.flush()
    return 0


def change_line(source: str, change: RawChange) -> bytes:
    return orjson.dumps(change_json(source, change)) + b"\n"


def cmd_monitor(_: argparse.Namespace, env: Mapping[str, str]) -> int:
    from monitor.runner import run

    run(env)
    return 0


def cmd_listserver(args: argparse.Namespace, _: Mapping[str, str]) -> int:
    import asyncio
    import signal

    from monitor.listserver import ListServer, parse_sequences, run

    try:
        server = ListServer(Path(args.root), parse_sequences(args.sequence))
    except (ValueError, FileNotFoundError) as exc:
        print(f"listwatch listserver: {exc}", file=sys.stderr)
        return EXIT_USAGE

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"list server on http://{args.host}:{args.port}/ serving {server.status()}", flush=True)
        await run(server, args.host, args.port, args.advance_every, stop)

    asyncio.run(_run())
    return 0


def register(sub: Any) -> None:
    sub.add_parser("sources", help="list the sources with id, kind, publisher and URL").set_defaults(func=cmd_sources)
    p = sub.add_parser("diff", help="compare two snapshots of one source offline, one JSON line per change")
    p.add_argument("source", help="source id (see `listwatch sources`)")
    p.add_argument("old", help="the older snapshot: a file, or a directory holding the source's files")
    p.add_argument("new", help="the newer snapshot, likewise")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        choices=(1, 2),
        default=2 if (os.cpu_count() or 1) > 1 else 1,
        help="2: read the older snapshot in a second process (the default with two or more cores)",
    )
    p.set_defaults(func=cmd_diff)
    sub.add_parser("monitor", help="run the monitor service").set_defaults(func=cmd_monitor)
    p = sub.add_parser("listserver", help="serve real snapshots locally as a changing list source")
    p.add_argument("--root", required=True, help="directory of {source}/{snapshot}/{file}[.gz]")
    p.add_argument("--sequence", action="append", default=[], help="SOURCE=SNAP1,SNAP2,... (repeatable)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--advance-every", type=float, default=0.0, help="seconds between snapshots (0: on request)")
    p.set_defaults(func=cmd_listserver)
