"""Country enricher: names in any language (and codes) to ISO 3166-1 alpha-2, with ``countrynames``."""

from __future__ import annotations

from collections.abc import Iterable

import countrynames


def to_iso(value: str) -> str | None:
    code = countrynames.to_code(value, fuzzy=False)
    return code.upper() if code else None


def enrich_countries(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """ISO codes in first-seen order, and the values that could not be read."""
    codes: list[str] = []
    unknown: list[str] = []
    for value in values:
        code = to_iso(value)
        if code is None:
            unknown.append(value)
        elif code not in codes:
            codes.append(code)
    return codes, unknown
