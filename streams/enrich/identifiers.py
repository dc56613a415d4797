"""Identifier enricher: validate and normalise with python-stdnum; decode what a USCC says.

USCC (统一社会信用代码): 18 characters, mod-31 check character; characters 3–8 are the administrative-
division code of the registering authority, decoded with python-stdnum's GB/T 2260 table
(``stdnum/cn/loc.dat``, the division codes as published by the National Bureau of Statistics).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from stdnum import imo, isin, lei, numdb
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from contracts.models import CheckedIdentifier, Identifier, build
from streams.enrich.base import EnrichmentAbort

_VALIDATORS = {"uscc": uscc.validate, "lei": lei.validate, "isin": isin.validate, "imo": imo.validate}

# GB 32100-2015's mod-31 check, for USCCs already written in their compact form (nearly all): python-stdnum's
# `validate` cleans the text character by character twice, about 25 µs a call, two USCCs per entry of a
# Chinese list. A number in any other form still goes to python-stdnum; tests/streams/test_enrich.py holds
# the two equal, verdicts and messages, on random numbers.
_USCC_COMPACT = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def compact_uscc(value: str) -> bool | None:
    """Whether a USCC written in compact form has the right check character; None for any other form (no
    verdict: python-stdnum's to give)."""
    if _USCC_COMPACT.fullmatch(value) is None:
        return None
    total = sum(_USCC_VALUE[c] * w for c, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
    return value[17] == _USCC_ALPHABET[-total % 31]


@functools.cache
def _divisions() -> numdb.NumDB:
    try:
        return numdb.get("cn/loc")
    except (OSError, ImportError) as exc:  # the data file ships with python-stdnum
        raise EnrichmentAbort(f"python-stdnum's cn/loc division table is unavailable: {exc}") from exc


def uscc_region(code: str) -> str | None:
    """ "广东省 深圳市" for a USCC registered in Shenzhen; None when the division is unknown."""
    division = code[2:8]
    return _region(division) if division.isdigit() else None


@functools.lru_cache(maxsize=8192)
def _region(division: str) -> str | None:
    # A few thousand divisions exist; a list of a million USCCs repeats them (one table walk each).
    names: list[str] = []
    for _, info in _divisions().info(division):
        names.extend(info[k] for k in ("province", "prefecture", "county") if k in info)
    return " ".join(dict.fromkeys(names)) or None


def check(identifier: Identifier) -> CheckedIdentifier:
    scheme = identifier.scheme.lower()
    value = "".join(identifier.value.split()).upper()
    validate = _VALIDATORS.get(scheme)
    # Built past faust's field descriptors (contracts.models.build): every entry of a baseline comes here.
    if validate is None:
        return build(CheckedIdentifier, {"scheme": scheme, "value": value, "valid": True})
    try:
        verdict = compact_uscc(value) if scheme == "uscc" else None
        if verdict is False:
            raise InvalidChecksum  # what python-stdnum says of this form with a wrong check character
        if verdict is None:
            value = validate(value)
    except ValidationError as exc:
        return build(CheckedIdentifier, {"scheme": scheme, "value": value, "valid": False, "detail": str(exc)})
    detail = uscc_region(value) if scheme == "uscc" else None
    return build(CheckedIdentifier, {"scheme": scheme, "value": value, "valid": True, "detail": detail})


def enrich_identifiers(identifiers: Iterable[Identifier]) -> list[CheckedIdentifier]:
    out: dict[tuple[str, str], CheckedIdentifier] = {}
    for identifier in identifiers:
        checked = check(identifier)
        out.setdefault((checked.scheme, checked.value), checked)
    return list(out.values())
