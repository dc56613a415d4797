"""The stream workers' settings read from the environment."""

from __future__ import annotations

import pytest

from contracts.settings import SettingsError
from streams.settings import StreamsSettings


def test_the_lanes_commit_interval_is_read_under_its_name_and_its_name_before() -> None:
    assert StreamsSettings.from_env({}).commit_ms == 1000
    assert StreamsSettings.from_env({"LISTWATCH_STREAMS_COMMIT_MS": "250"}).commit_ms == 250
    # the baseline lane's setting before both lanes shared it (2026-12-01) still counts, the new name first
    assert StreamsSettings.from_env({"LISTWATCH_STREAMS_BASELINE_COMMIT_MS": "400"}).commit_ms == 400
    both = {"LISTWATCH_STREAMS_BASELINE_COMMIT_MS": "400", "LISTWATCH_STREAMS_COMMIT_MS": "250"}
    assert StreamsSettings.from_env(both).commit_ms == 250
    with pytest.raises(SettingsError, match="LISTWATCH_STREAMS_COMMIT_MS must be an integer"):
        StreamsSettings.from_env({"LISTWATCH_STREAMS_COMMIT_MS": "soon"})
