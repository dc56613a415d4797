"""Running one stream worker (``listwatch streams``, ``python -m streams``); several share the load through
the consumer group."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping

import faust

from contracts.settings import configure_logging, use_event_loop
from contracts.topics import Topics, ensure_topics_when_up
from streams.app import build_app
from streams.enrich.countries import to_iso
from streams.enrich.names import name_form
from streams.match.score import common_words
from streams.settings import StreamsSettings


def run(env: Mapping[str, str]) -> None:
    settings = StreamsSettings.from_env(env)
    configure_logging(settings.common)
    use_event_loop(settings.common)
    # faust only creates its internal topics; ours are created here, with our partition count.
    asyncio.run(ensure_topics_when_up(settings.common, Topics.for_settings(settings.common)))
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # faust makes only the last level
    streams = build_app(settings)
    _settle_heap()
    worker = faust.Worker(streams.app, loglevel=settings.common.log_level.lower())
    worker.execute_from_commandline()


def _settle_heap() -> None:
    """The name data (rigour, ICU, OpenCC, wordfreq's common words, countrynames' table) loaded, then
    everything alive so far moved out of the cyclic collector's sight (``gc.freeze``): it never frees any of
    it, and walking it was about a sixth of the worker's CPU in an in-process replay of a baseline."""
    name_form("Warm-Up Trading Co., Ltd.")
    name_form("暖機貿易有限公司")
    common_words()
    to_iso("China")  # countrynames normalises its 27,000 names on first use: about 0.9 s, before any change
    gc.collect()
    gc.freeze()
