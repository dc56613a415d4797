"""The stream workers' settings: the common ones plus faust's web server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.settings import CommonSettings, env_int


@dataclass(frozen=True)
class StreamsSettings:
    common: CommonSettings
    # LISTWATCH_STREAMS_WEB_PORT: faust's web server (health, metrics) on 127.0.0.1; 0 disables it.
    web_port: int = 6066

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StreamsSettings:
        return cls(common=CommonSettings.from_env(env), web_port=env_int(env, "STREAMS_WEB_PORT", cls.web_port))
