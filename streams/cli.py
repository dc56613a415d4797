"""The stream workers' commands: run a worker, import a watchlist, screen a watchlist offline, reindex and
vacuum the stored state, show and replay the quarantine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from contracts.cli import EXIT_BUSY, EXIT_REJECTED, EXIT_USAGE
from monitor.cli import sources_from
from monitor.diff import SnapshotRejected, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.base import LinkedFiles, SnapshotError

if TYPE_CHECKING:
    from streams.list_state import ListStateStore
    from streams.watchlists import WatchlistStore


def cmd_streams(_: argparse.Namespace, env: Mapping[str, str]) -> int:
    from streams.worker import run

    run(env)
    return 0


def cmd_watch_import(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    import asyncio

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
    settings = CommonSettings.from_env(env)

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


def cmd_screen(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from contracts.settings import CommonSettings
    from monitor.diff import decode_entry
    from streams.screen import SnapshotIndex
    from streams.watchlists import parse_watchlist_csv

    source = sources_from(env).get(args.source)
    if source is None:
        print(f"listwatch screen: unknown source {args.source!r}; see `listwatch sources`", file=sys.stderr)
        return EXIT_USAGE
    threshold = CommonSettings.from_env(env).match_threshold if args.threshold is None else args.threshold
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


def cmd_reindex(_: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Enrich and index the stored list entries and watch entries again with this version's name folding and
    index keys (after an upgrade that changed them; stored state keeps the old forms until then)."""
    import asyncio

    from contracts.clients import redis_client
    from contracts.settings import CommonSettings
    from streams.index import VacuumRunning
    from streams.list_state import ListStateStore
    from streams.watchlists import WatchlistStore

    settings = CommonSettings.from_env(env)

    async def _run() -> None:
        redis = redis_client(settings)
        try:
            lists, watches = ListStateStore(redis, settings), WatchlistStore(redis, settings)
            for source in await lists.sources():
                total, rewritten = await lists.reindex(source)
                print(orjson.dumps({"list": source, "entries": total, "rewritten": rewritten}).decode(), flush=True)
            for subscriber in await watches.subscribers():
                count = await watches.reindex(subscriber)
                print(orjson.dumps({"subscriber": subscriber, "watch_entries": count}).decode(), flush=True)
            # postings left by entries whose keys changed with this version (the indexes keep digests of keys)
            await _vacuum(lists, watches)
        finally:
            await redis.aclose()

    try:
        asyncio.run(_run())
    except VacuumRunning as exc:
        print(f"listwatch reindex: every entry is reindexed, but not vacuumed: {exc} (then `listwatch vacuum`)",
              file=sys.stderr)  # fmt: skip
        return EXIT_BUSY
    return 0


def cmd_vacuum(_: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Remove the index postings left behind by re-indexed members (the gauge
    ``listwatch_index_orphaned_members`` counts them); nothing else is rewritten."""
    import asyncio

    from contracts.clients import redis_client
    from contracts.settings import CommonSettings
    from streams.index import VacuumRunning
    from streams.list_state import ListStateStore
    from streams.watchlists import WatchlistStore

    settings = CommonSettings.from_env(env)

    async def _run() -> None:
        redis = redis_client(settings)
        try:
            await _vacuum(ListStateStore(redis, settings), WatchlistStore(redis, settings))
        finally:
            await redis.aclose()

    try:
        asyncio.run(_run())
    except VacuumRunning as exc:
        print(f"listwatch vacuum: {exc}", file=sys.stderr)
        return EXIT_BUSY
    return 0


async def _vacuum(lists: ListStateStore, watches: WatchlistStore) -> None:
    for index, store in (("lists", lists), ("watchlists", watches)):
        dropped = await store.vacuum()
        print(orjson.dumps({"index": index, "stale_postings_removed": dropped}).decode(), flush=True)


def cmd_quarantine(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    import asyncio

    from contracts.settings import CommonSettings
    from contracts.topics import Topics, ensure_topics
    from streams.quarantine import read_pending, replay

    settings = CommonSettings.from_env(env)
    topics = Topics.for_settings(settings)

    async def _run() -> int:
        await ensure_topics(settings, topics)
        if args.quarantine_command == "show":
            for record in await read_pending(settings, topics):
                print(orjson.dumps(record.summary()).decode(), flush=True)
            return 0
        replayed, passed_over = await replay(settings, topics)
        for record in passed_over:
            print(f"listwatch quarantine replay: passed over a record not from our topics: {record.summary()}",
                  file=sys.stderr)  # fmt: skip
        print(orjson.dumps({"replayed": replayed, "passed_over": len(passed_over)}).decode(), flush=True)
        return 0

    return asyncio.run(_run())


def register(sub: Any) -> None:
    sub.add_parser("streams", help="run one stream worker").set_defaults(func=cmd_streams)
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
    sub.add_parser(
        "reindex", help="enrich and index stored list and watch entries again (after an upgrade that changed names)"
    ).set_defaults(func=cmd_reindex)
    sub.add_parser(
        "vacuum", help="remove index postings left behind by re-indexed entries (listwatch_index_orphaned_members)"
    ).set_defaults(func=cmd_vacuum)
    p = sub.add_parser("quarantine", help="events the stream workers set aside (processing failed, not an outage)")
    quarantine = p.add_subparsers(dest="quarantine_command", required=True)
    quarantine.add_parser("show", help="the events not replayed yet, one JSON line each: origin, lane, error, when")
    quarantine.add_parser("replay", help="put them back on their topics (once the cause is mended)")
    p.set_defaults(func=cmd_quarantine)
