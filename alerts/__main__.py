"""``python -m alerts``: run the alerts service (API and delivery) until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.sinks.base import Sink
from alerts.sinks.console import ConsoleSink, FileSink


async def serve(settings: AlertsSettings) -> None:
    sinks: list[Sink] = []
    if settings.console:
        sinks.append(ConsoleSink())
    if settings.file is not None:
        sinks.append(FileSink(settings.file))
    service = AlertsService(settings, sinks)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        await service.run(stop)
    finally:
        await service.stop()


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LISTWATCH_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(AlertsSettings.from_env(os.environ)))


if __name__ == "__main__":
    main()
