"""Helpers for sources published as tables (HTML, CSV, XLSX): dates, cleaning, and duplicate-key handling."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from contracts.models import Entry
from monitor.sources.base import RecordError

_NULLS = {"", "-", "--", "n/a", "na", "none", "null", "-0-"}


def clean(value: Any) -> str | None:
    """Whitespace-collapsed text; None for blanks and the usual null markers."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    text = " ".join(str(value).split())
    return None if text.lower() in _NULLS else text


def iso_date(value: Any, formats: Iterable[str]) -> str | None:
    """An ISO date from the first format that fits; None when blank or in none of them."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    text = clean(value)
    if text is None:
        return None
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date().isoformat()  # noqa: DTZ007 - dates, no time of day
        except ValueError:
            continue
    return None


def number_duplicates(entries: Iterable[Entry | RecordError]) -> Iterator[Entry | RecordError]:
    """Lists keyed by (name, nationality) can hold one party twice (two debarments): the second and
    later ones get ``#2``, ``#3`` … in publication order, so that neither is lost nor seen as a change."""
    seen: dict[str, int] = {}
    for entry in entries:
        if isinstance(entry, Entry):
            count = seen.get(entry.key, 0) + 1
            seen[entry.key] = count
            if count > 1:
                entry.key = f"{entry.key}#{count}"
        yield entry


def split(value: str | None, sep: str) -> list[str]:
    return [p.strip() for p in (value or "").split(sep) if p.strip()]
