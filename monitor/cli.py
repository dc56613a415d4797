"""The ``listwatch`` command line: offline tools and the services' entry points."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from contracts.models import ListChange
from monitor.diff import SnapshotRejected, check_shrink, diff, read_snapshot
from monitor.snapshot import from_path
from monitor.sources import registry
from monitor.sources.base import LinkedFiles, SnapshotError, Source

EXIT_USAGE = 2
EXIT_REJECTED = 3


def change_json(change: ListChange) -> dict[str, Any]:
    """The stable, documented shape printed by ``listwatch diff``."""
    out: dict[str, Any] = {
        "change": change.change,
        "source": change.source,
        "key": change.entry_key,
        "name": change.current.name,
        "event_id": change.event_id,
    }
    if change.baseline:
        out["baseline"] = True
    if change.fields:
        out["fields"] = {f.field: [f.before, f.after] for f in change.fields}
    return out


def _registry() -> dict[str, Source]:
    """Built-in sources plus the feeds configured in the environment."""
    import os

    from monitor.sources.feed import feeds_from_env

    return registry(feeds_from_env(os.environ))


def cmd_sources(_: argparse.Namespace) -> int:
    for source in _registry().values():
        info = source.info
        print(f"{info.id:<14} {info.kind.value:<15} {info.publisher} | {info.title}")
        print(f"{'':<14} url: {info.primary.url}")
        print(f"{'':<14} key: {info.key}; every {info.schedule_s}s")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    sources = _registry()
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
    try:
        old = read_snapshot(source, old_files, old_files.snapshot_id())
    except SnapshotRejected as exc:
        print(f"listwatch diff: OLD snapshot rejected ({exc.reason}): {exc}", file=sys.stderr)
        return EXIT_REJECTED
    try:
        new = read_snapshot(source, new_files, new_files.snapshot_id())
        check_shrink(source.info, len(old.entries), new)
    except SnapshotRejected as exc:
        print(f"listwatch diff: NEW snapshot rejected ({exc.reason}): {exc}", file=sys.stderr)
        return EXIT_REJECTED
    out = sys.stdout.buffer
    for change in diff(source.info.id, old.entries, old.snapshot_id, new, datetime.now(UTC), source.info):
        out.write(orjson.dumps(change_json(change)) + b"\n")
    out.flush()
    return 0


def cmd_monitor(_: argparse.Namespace) -> int:
    from monitor.__main__ import main as monitor_main

    monitor_main()
    return 0


def cmd_listserver(args: argparse.Namespace) -> int:
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


def cmd_watch_import(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from contracts.clients import redis_client
    from contracts.settings import CommonSettings
    from streams.watch_events import publish_watch_events, watch_event
    from streams.watchlists import WatchlistStore, parse_watchlist_csv

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"listwatch watch import: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    entries, errors = parse_watchlist_csv(text, args.subscriber)
    for error in errors:
        print(f"{args.file}:{error.row}: {error.reason}", file=sys.stderr)
    settings = CommonSettings.from_env(os.environ)

    async def _store() -> None:
        redis = redis_client(settings)
        try:
            store = WatchlistStore(redis, settings)
            for entry in entries:
                await store.put(entry)
        finally:
            await redis.aclose()
        if not args.no_screen:
            # Stream workers screen each new entry against the current lists ("already listed").
            await publish_watch_events(settings, [watch_event(e.subscriber_id, e.id) for e in entries])

    asyncio.run(_store())
    print(f"imported {len(entries)} watch entries for {args.subscriber}; {len(errors)} rows rejected")
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    import os

    from contracts.settings import CommonSettings
    from monitor.diff import decode_entry
    from streams.screen import SnapshotIndex
    from streams.watchlists import parse_watchlist_csv

    source = _registry().get(args.source)
    if source is None:
        print(f"listwatch screen: unknown source {args.source!r}; see `listwatch sources`", file=sys.stderr)
        return EXIT_USAGE
    threshold = CommonSettings.from_env(os.environ).match_threshold if args.threshold is None else args.threshold
    if not 0 < threshold <= 1:
        print(f"listwatch screen: --threshold must be in (0, 1], got {threshold}", file=sys.stderr)
        return EXIT_USAGE
    try:
        text = Path(args.watchlist).read_text(encoding="utf-8")
        files = from_path(source.info, Path(args.snapshot), linked=isinstance(source, LinkedFiles))
    except (OSError, UnicodeDecodeError, SnapshotError) as exc:
        print(f"listwatch screen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    watches, errors = parse_watchlist_csv(text, "cli")
    for error in errors:
        print(f"{args.watchlist}:{error.row}: {error.reason}", file=sys.stderr)
    try:
        parsed = read_snapshot(source, files, files.snapshot_id())
    except SnapshotRejected as exc:
        print(f"listwatch screen: snapshot rejected ({exc.reason}): {exc}", file=sys.stderr)
        return EXIT_REJECTED
    index = SnapshotIndex(source.info.id, source.info.kind.value, source.info.publisher, source.info.jurisdiction)
    for key in parsed.entries:
        index.add(decode_entry(parsed.entries[key]))
    out = sys.stdout.buffer
    for hit in index.screen(watches, threshold):
        out.write(orjson.dumps({
            "watch_id": hit.watch.id, "watch_name": hit.watch.name, "source": hit.source,
            "entry_key": hit.entry.key, "entry_name": hit.entry.name, "score": hit.score.value,
            "reasons": list(hit.score.reasons),
        }) + b"\n")  # fmt: skip
    out.flush()
    return 0


def cmd_receiver(args: argparse.Namespace) -> int:
    import asyncio

    from alerts.receiver import serve

    if not args.secret.startswith("whsec_"):
        print("listwatch receiver: --secret must be the endpoint's whsec_… secret", file=sys.stderr)
        return EXIT_USAGE
    asyncio.run(serve(args.secret, args.host, args.port))
    return 0


def cmd_streams(_: argparse.Namespace) -> int:
    from streams.__main__ import main as streams_main

    sys.argv = [sys.argv[0], "worker"]
    streams_main()
    return 0


def cmd_alerts(_: argparse.Namespace) -> int:
    from alerts.__main__ import main as alerts_main

    alerts_main()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="listwatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sources", help="list the sources with id, kind, publisher and URL").set_defaults(func=cmd_sources)
    p = sub.add_parser("diff", help="compare two snapshots of one source offline, one JSON line per change")
    p.add_argument("source", help="source id (see `listwatch sources`)")
    p.add_argument("old", help="the older snapshot: a file, or a directory holding the source's files")
    p.add_argument("new", help="the newer snapshot, likewise")
    p.set_defaults(func=cmd_diff)
    sub.add_parser("monitor", help="run the monitor service").set_defaults(func=cmd_monitor)
    p = sub.add_parser("listserver", help="serve real snapshots locally as a changing list source")
    p.add_argument("--root", required=True, help="directory of {source}/{snapshot}/{file}[.gz]")
    p.add_argument("--sequence", action="append", default=[], help="SOURCE=SNAP1,SNAP2,... (repeatable)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--advance-every", type=float, default=0.0, help="seconds between snapshots (0: on request)")
    p.set_defaults(func=cmd_listserver)
    p = sub.add_parser("watch", help="manage watchlists")
    watch = p.add_subparsers(dest="watch_command", required=True)
    p = watch.add_parser("import", help="import a watchlist CSV (id,name,alt_names,country,uscc,lei,tags)")
    p.add_argument("--subscriber", required=True)
    p.add_argument("--no-screen", action="store_true", help="do not ask the stream workers to screen the entries")
    p.add_argument("file")
    p.set_defaults(func=cmd_watch_import)
    p = sub.add_parser("screen", help="screen a watchlist CSV against one snapshot offline, one JSON line per match")
    p.add_argument("--watchlist", required=True, help="CSV: id,name[,alt_names,country,uscc,lei,tags]")
    p.add_argument("--source", required=True, help="source id (see `listwatch sources`)")
    p.add_argument("--snapshot", required=True, help="the snapshot: a file, or a directory of the source's files")
    p.add_argument("--threshold", type=float, default=None, help="minimum score (default: the service's)")
    p.set_defaults(func=cmd_screen)
    p = sub.add_parser("receiver", help="a webhook receiver that verifies signatures and prints events")
    p.add_argument("--secret", required=True, help="the endpoint's signing secret (whsec_…)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8701)
    p.set_defaults(func=cmd_receiver)
    sub.add_parser("streams", help="run one stream worker").set_defaults(func=cmd_streams)
    sub.add_parser("alerts", help="run the alert delivery service").set_defaults(func=cmd_alerts)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from contracts.settings import SettingsError

    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except SettingsError as exc:
        print(f"listwatch: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return result


if __name__ == "__main__":
    sys.exit(main())
