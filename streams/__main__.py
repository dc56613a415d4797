"""``python -m streams worker``: run one stream worker (several share the load through the consumer group)."""

from __future__ import annotations

import asyncio
import os

import faust

from contracts.topics import Topics, ensure_topics_when_up
from streams.app import build_app
from streams.settings import StreamsSettings


def main() -> None:
    settings = StreamsSettings.from_env(os.environ)
    # faust only creates its internal topics; ours are created here, with our partition count.
    asyncio.run(ensure_topics_when_up(settings.common, Topics.for_settings(settings.common)))
    streams = build_app(settings)
    worker = faust.Worker(streams.app, loglevel=os.environ.get("LISTWATCH_LOG_LEVEL", "info"))
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
