"""The common settings' event loop: parsed from the environment, and the loop a service then runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import uvloop

from contracts.settings import CommonSettings, SettingsError, use_event_loop


@pytest.fixture
def restored_policy() -> Iterator[None]:
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


def test_the_event_loop_is_uvloop_unless_asyncio_is_asked_for() -> None:
    assert CommonSettings.from_env({}).event_loop == "uvloop"
    assert CommonSettings.from_env({"LISTWATCH_EVENT_LOOP": " AsyncIO "}).event_loop == "asyncio"


def test_an_unknown_event_loop_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="LISTWATCH_EVENT_LOOP must be uvloop or asyncio, got 'trio'"):
        CommonSettings.from_env({"LISTWATCH_EVENT_LOOP": "trio"})


def _loop_type() -> type:
    async def running() -> type:
        return type(asyncio.get_running_loop())

    return asyncio.run(running())


@pytest.mark.usefixtures("restored_policy")
def test_a_service_runs_on_the_loop_its_settings_name() -> None:
    use_event_loop(CommonSettings.from_env({}))
    assert _loop_type() is uvloop.Loop
    use_event_loop(CommonSettings.from_env({"LISTWATCH_EVENT_LOOP": "asyncio"}))
    assert not issubclass(_loop_type(), uvloop.Loop)
