"""Running the alerts service (API and delivery) until SIGINT/SIGTERM (``listwatch alerts``, ``python -m alerts``)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping

from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.sinks.base import Sink
from alerts.sinks.console import ConsoleSink, FileSink
from contracts.settings import configure_logging, use_event_loop


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


def run(env: Mapping[str, str]) -> None:
    settings = AlertsSettings.from_env(env)
    configure_logging(settings.common)
    use_event_loop(settings.common)
    asyncio.run(serve(settings))
