"""The stream workers' settings: the common ones plus faust's web server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts.settings import CommonSettings, env_int


@dataclass(frozen=True)
class StreamsSettings:
    common: CommonSettings
    # LISTWATCH_STREAMS_WEB_PORT: faust's web server (health, metrics) on 127.0.0.1; 0 disables it.
    web_port: int = 6066
    # faust's data directory: $LISTWATCH_STATE_DIR/streams (set from the state directory, not on its own).
    data_dir: Path = Path(".state/streams")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StreamsSettings:
        common = CommonSettings.from_env(env)
        return cls(common=common, web_port=env_int(env, "STREAMS_WEB_PORT", cls.web_port),
                   data_dir=common.state_dir / "streams")  # fmt: skip
