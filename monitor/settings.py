"""Settings of the monitor service, built once at its entry point."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contracts.settings import PREFIX, CommonSettings, SettingsError, env_float, env_int, env_str
from monitor.sources.base import ListKind
from monitor.sources.feed import DEFAULT_DATES, FIELDS, FeedConfig
from monitor.sources.feed_presets import PRESETS

_FEED_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class SourceOverride:
    # LISTWATCH_SOURCE_<ID>_URL: where to fetch instead of the publisher (a base ending in "/" for
    # multi-file sources); tests and the demo point it at the local list server.
    url: str | None = None
    # LISTWATCH_SOURCE_<ID>_SCHEDULE_S: poll interval in seconds.
    schedule_s: int | None = None
    # LISTWATCH_SOURCE_<ID>_MIN_RATIO: shrink guard, fraction of the previous entry count.
    min_ratio: float | None = None
    # LISTWATCH_SOURCE_<ID>_HEADERS: extra request headers, "Name: value; Name2: value2" (API keys).
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MonitorSettings:
    common: CommonSettings
    # LISTWATCH_MONITOR_SOURCES: comma-separated source ids to run ("" = all).
    sources: tuple[str, ...] = ()
    overrides: Mapping[str, SourceOverride] = field(default_factory=dict)
    # LISTWATCH_FEEDS and LISTWATCH_FEED_<NAME>_*: user-supplied lists (monitor/sources/feed.py).
    feeds: tuple[FeedConfig, ...] = ()
    # LISTWATCH_OPENSANCTIONS_DATASETS: comma-separated OpenSanctions dataset names, each run as the source
    # opensanctions_<name> (monitor/sources/opensanctions.py); their licence key goes in its _HEADERS.
    opensanctions_datasets: tuple[str, ...] = ()
    # LISTWATCH_HTTP_TIMEOUT_S: total time for one file download.
    http_timeout_s: float = 300.0
    # LISTWATCH_HTTP_RETRIES: attempts after the first, with exponential backoff and jitter.
    http_retries: int = 4
    # LISTWATCH_HTTP_BACKOFF_S: first backoff delay; doubles each retry (capped at 5 minutes).
    http_backoff_s: float = 2.0
    # LISTWATCH_HTTP_MAX_BYTES: refuse bodies above this size (defends against runaway downloads).
    http_max_bytes: int = 512 * 1024 * 1024
    # LISTWATCH_HTTP_GROWTH_LIMIT: a file that had a known size may grow to this many times it (but at least
    # 64 MiB) before its download is cut off: a bomb never writes the whole global limit on every poll.
    http_growth_limit: float = 8.0
    # LISTWATCH_HTTP_CONCURRENCY: sources fetched at the same time.
    http_concurrency: int = 4
    # LISTWATCH_HTTP_USER_AGENT: sent with every request.
    user_agent: str = "listwatch/0.1 (+https://github.com/listwatch)"
    # LISTWATCH_SCHEDULE_JITTER: each poll interval is stretched by up to this fraction, at random.
    schedule_jitter: float = 0.1
    # LISTWATCH_LEASE_TTL_S: a replica owns a source for this long unless it renews; a dead replica's
    # sources are taken over within about this time.
    lease_ttl_s: float = 30.0
    # LISTWATCH_MONITOR_WORK_DIR: downloads are spooled here (not kept in memory); default
    # $LISTWATCH_STATE_DIR/monitor.
    work_dir: Path = Path(".state/monitor")
    # LISTWATCH_MONITOR_PORT: /metrics, /healthz, /readyz on 127.0.0.1 (0 disables).
    port: int = 9101

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MonitorSettings:
        from monitor.sources import registry

        feeds = tuple(feeds_from_env(env))
        datasets = datasets_from_env(env)
        known = registry(feeds, datasets)
        wanted = tuple(s.strip() for s in env.get(PREFIX + "MONITOR_SOURCES", "").split(",") if s.strip())
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise SettingsError(f"{PREFIX}MONITOR_SOURCES names unknown source(s): {', '.join(unknown)}")
        overrides = {}
        for source_id in known:
            name = f"SOURCE_{source_id.upper()}"
            url = env.get(f"{PREFIX}{name}_URL", "").strip() or None
            headers = env.get(f"{PREFIX}{name}_HEADERS", "").strip()
            schedule = env_int(env, f"{name}_SCHEDULE_S", 0, minimum=0) or None
            ratio = env_float(env, f"{name}_MIN_RATIO", 0.0) or None
            pairs = []
            for item in (h.strip() for h in headers.split(";") if h.strip()):
                header, sep, value = item.partition(":")
                if not sep or not header.strip():
                    raise SettingsError(f"{PREFIX}{name}_HEADERS: {item!r} is not 'Name: value'")
                pairs.append((header.strip(), value.strip()))
            if url or schedule or ratio or pairs:
                overrides[source_id] = SourceOverride(
                    url=url, schedule_s=schedule, min_ratio=ratio, headers=tuple(pairs)
                )
        common = CommonSettings.from_env(env)
        return cls(
            common=common,
            sources=wanted or tuple(known),
            overrides=overrides,
            feeds=feeds,
            opensanctions_datasets=datasets,
            http_timeout_s=env_float(env, "HTTP_TIMEOUT_S", cls.http_timeout_s, minimum=1),
            http_retries=env_int(env, "HTTP_RETRIES", cls.http_retries),
            http_backoff_s=env_float(env, "HTTP_BACKOFF_S", cls.http_backoff_s),
            http_max_bytes=env_int(env, "HTTP_MAX_BYTES", cls.http_max_bytes, minimum=1),
            http_growth_limit=env_float(env, "HTTP_GROWTH_LIMIT", cls.http_growth_limit, minimum=1.0),
            http_concurrency=env_int(env, "HTTP_CONCURRENCY", cls.http_concurrency, minimum=1),
            user_agent=env_str(env, "HTTP_USER_AGENT", cls.user_agent),
            schedule_jitter=env_float(env, "SCHEDULE_JITTER", cls.schedule_jitter),
            lease_ttl_s=env_float(env, "LEASE_TTL_S", cls.lease_ttl_s, minimum=1),
            work_dir=Path(env_str(env, "MONITOR_WORK_DIR", str(common.state_dir / "monitor"))),
            port=env_int(env, "MONITOR_PORT", cls.port),
        )


def parse_mapping(text: str) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """``name=Company;id.uscc=USCC;aliases=Alias 1+Alias 2`` -> (fields, identifier schemes)."""
    fields: dict[str, tuple[str, ...]] = {}
    ids: dict[str, tuple[str, ...]] = {}
    for part in (p.strip() for p in text.split(";") if p.strip()):
        target, sep, columns = part.partition("=")
        target, cols = target.strip(), tuple(c.strip() for c in columns.split("+") if c.strip())
        if not sep or not cols:
            raise SettingsError(f"feed mapping item {part!r} is not field=column")
        if target.startswith("id."):
            ids[target[3:]] = cols
        elif target in FIELDS:
            fields[target] = cols
        else:
            raise SettingsError(f"feed mapping names unknown field {target!r}; known: {', '.join(FIELDS)}, id.<scheme>")
    if "name" not in fields:
        raise SettingsError("feed mapping needs name=<column>")
    return fields, ids


def datasets_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    names = tuple(d.strip() for d in env.get(PREFIX + "OPENSANCTIONS_DATASETS", "").split(",") if d.strip())
    bad = [d for d in names if not d.replace("_", "").isalnum() or d != d.lower()]
    if bad:
        raise SettingsError(
            f"{PREFIX}OPENSANCTIONS_DATASETS: {', '.join(bad)} is not a dataset name (lower-case letters, digits, _)"
        )
    return names


def feeds_from_env(env: Mapping[str, str]) -> list[FeedConfig]:
    out = []
    for name in (n.strip().lower() for n in env.get(PREFIX + "FEEDS", "").split(",") if n.strip()):
        if not _FEED_NAME.match(name):
            raise SettingsError(f"{PREFIX}FEEDS: feed name {name!r} must be lowercase letters, digits or _")
        p = f"{PREFIX}FEED_{name.upper()}_"
        preset_name = env.get(p + "PRESET", "").strip()
        preset = PRESETS.get(preset_name) if preset_name else None
        if preset_name and preset is None:
            raise SettingsError(f"{p}PRESET: unknown preset {preset_name!r}; known: {', '.join(sorted(PRESETS))}")
        if preset is not None:  # the preset's values, unless set explicitly
            env = {p + "FORMAT": preset.format, p + "MAPPING": preset.mapping, p + "KIND": preset.kind.value,
                   p + "TITLE": preset.title, p + "PUBLISHER": preset.publisher,
                   p + "JURISDICTION": preset.jurisdiction, **env}  # fmt: skip
        fmt = env.get(p + "FORMAT", "csv").strip().lower()
        if fmt not in {"csv", "json", "xlsx"}:
            raise SettingsError(f"{p}FORMAT must be csv, json or xlsx, got {fmt!r}")
        if not env.get(p + "MAPPING"):
            raise SettingsError(f"{p}MAPPING is required for feed {name!r}")
        fields, ids = parse_mapping(env[p + "MAPPING"])
        kind_text = env.get(p + "KIND", ListKind.BLACK_LIST.value).strip()
        try:
            kind = ListKind(kind_text)
        except ValueError:
            raise SettingsError(f"{p}KIND must be one of {', '.join(k.value for k in ListKind)}") from None
        dates = tuple(f.strip() for f in env.get(p + "DATE_FORMATS", "").split(",") if f.strip())
        out.append(FeedConfig(
            name=name, format=fmt, mapping=fields, identifiers=ids, kind=kind,
            title=env.get(p + "TITLE", f"Feed {name}"), publisher=env.get(p + "PUBLISHER", "user-supplied feed"),
            jurisdiction=env.get(p + "JURISDICTION") or None,
            url=env.get(p + "URL", ""), json_path=env.get(p + "JSON_PATH", "item"),
            date_formats=dates or DEFAULT_DATES, separator=env.get(p + "SEPARATOR", ";") or ";",
            preset=preset_name or None,
        ))  # fmt: skip
    return out
