"""Console and JSON-lines file sinks: for the demo and for operators (every alert, no endpoint)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TextIO

from alerts.sinks.base import Message
from contracts.models import Alert


def describe(alert: Alert) -> str:
    """One human line per alert."""
    return (
        f"ALERT {alert.kind.upper():<14} {alert.source}:{alert.entry_key} {alert.entry_name!r} "
        f"-> subscriber {alert.subscriber_id} watch {alert.watch_id} ({alert.watch_name!r}) "
        f"score {alert.score:.2f} [{'; '.join(alert.reasons)}]"
    )


class ConsoleSink:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout

    async def send(self, message: Message) -> None:
        for alert in message.alerts:
            print(describe(alert), file=self._stream, flush=True)

    async def aclose(self) -> None:
        return None


class FileSink:
    """Appends each alert as one JSON line; fsync'd so a crash right after send() loses nothing."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, lines: list[bytes]) -> None:
        with self._path.open("ab") as fh:
            for line in lines:
                fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    async def send(self, message: Message) -> None:
        await asyncio.to_thread(self._append, [a.dumps() for a in message.alerts])

    async def aclose(self) -> None:
        return None
