"""Running one stream worker (``listwatch streams``, ``python -m streams``); several share the load through
the consumer group."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Mapping
from typing import Any

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
    _settle_heap(settings.gc_young)
    gc.callbacks.append(FreezeSurvivors())
    worker = faust.Worker(streams.app, loglevel=settings.common.log_level.lower())
    worker.execute_from_commandline()


def _settle_heap(young: int) -> None:
    """The name data (rigour, ICU, OpenCC, wordfreq's common words, countrynames' table) loaded, then
    everything alive so far moved out of the cyclic collector's sight (``gc.freeze``): it never frees any of
    it, and walking it was about a sixth of the worker's CPU in an in-process replay of a baseline. Young
    collections wait for ``young`` objects more allocated than freed (``StreamsSettings.gc_young``)."""
    name_form("Warm-Up Trading Co., Ltd.")
    name_form("暖機貿易有限公司")
    common_words()
    to_iso("China")  # countrynames normalises its 27,000 names on first use: about 0.9 s, before any change
    gc.collect()
    gc.freeze()
    gc.set_threshold(young)  # the older generations' thresholds as they were


class FreezeSurvivors:
    """A ``gc`` callback: after each full collection, what survived it is frozen, so the next ones walk only
    what became long-lived since. A worker's caches (watch entries, postings, name forms and words: some
    250,000 objects) were walked by every full collection, 50-185 ms each, every few seconds at 1,000 changes
    a second: pauses that every change in flight waits out. Frozen objects are still freed when no longer
    referenced, but a cycle among them is not: every ``sweep_s`` the next full collection walks everything
    once more (``gc.unfreeze``), so such garbage lives at most that long."""

    def __init__(self, sweep_s: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._sweep_s, self._clock = sweep_s, clock
        self._swept = clock()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        if self._clock() - self._swept >= self._sweep_s:
            gc.unfreeze()  # the next full collection walks everything once
            self._swept = self._clock()
        else:
            gc.freeze()
