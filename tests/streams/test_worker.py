from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from streams.settings import StreamsSettings
from streams.worker import FreezeSurvivors, _settle_heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def clock() -> list[float]:
    return [0.0]


@pytest.fixture
def keeper(clock: list[float]) -> Iterator[FreezeSurvivors]:
    keeper = FreezeSurvivors(sweep_s=600.0, clock=lambda: clock[0])
    gc.callbacks.append(keeper)
    try:
        yield keeper
    finally:
        gc.callbacks.remove(keeper)
        gc.unfreeze()  # the rest of the test process collects as before
        gc.collect()


def test_a_full_collections_survivors_are_frozen_and_young_collections_freeze_nothing(
    keeper: FreezeSurvivors,
) -> None:
    gc.collect()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept = [_Cycle() for _ in range(1000)]
    gc.collect(0)
    gc.collect(1)
    assert gc.get_freeze_count() == frozen  # only a full collection freezes
    gc.collect()
    assert gc.get_freeze_count() >= frozen + 1000
    assert kept


def test_a_frozen_cycle_is_freed_by_the_first_full_collection_after_the_sweep_period(
    keeper: FreezeSurvivors, clock: list[float]
) -> None:
    cycle = _Cycle()
    gone = weakref.ref(cycle)
    gc.collect()  # frozen with everything else alive
    del cycle
    gc.collect()
    assert gone() is not None  # garbage, but frozen: not walked
    clock[0] = 599.0
    gc.collect()
    assert gone() is not None
    clock[0] = 600.0
    gc.collect()  # the sweep is due: everything unfrozen after this collection ...
    assert gc.get_freeze_count() == 0
    gc.collect()  # ... and walked by the next, which frees the cycle and freezes the rest again
    assert gone() is None
    assert gc.get_freeze_count() > 0


def test_the_heap_is_settled_with_the_young_threshold_asked_and_the_older_ones_kept() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        _settle_heap(50_000)
        assert gc.get_threshold() == (50_000, 10, 10)
        assert gc.get_freeze_count() > 0  # the name data loaded before is out of the collector's sight
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
        gc.collect()


def test_the_young_threshold_comes_from_the_environment() -> None:
    assert StreamsSettings.from_env({}).gc_young == 50_000
    assert StreamsSettings.from_env({"LISTWATCH_STREAMS_GC_YOUNG": "700"}).gc_young == 700
    with pytest.raises(ValueError, match="STREAMS_GC_YOUNG"):
        StreamsSettings.from_env({"LISTWATCH_STREAMS_GC_YOUNG": "10"})
