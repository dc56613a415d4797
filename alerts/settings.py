"""Settings of the alerts service, built once at its entry point."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.settings import CommonSettings, env_bool, env_str


@dataclass(frozen=True)
class AlertsSettings:
    common: CommonSettings
    # LISTWATCH_ALERTS_CONSOLE: print every alert on stdout.
    console: bool = True
    # LISTWATCH_ALERTS_FILE: append every alert as a JSON line to this file ("" disables it).
    file: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertsSettings:
        file = env.get("LISTWATCH_ALERTS_FILE", "").strip()
        return cls(
            common=CommonSettings.from_env(env),
            console=env_bool(env, "ALERTS_CONSOLE", cls.console),
            file=Path(env_str(env, "ALERTS_FILE", file)) if file else None,
        )
