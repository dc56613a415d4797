"""UN Security Council Consolidated List (XML). Key: ``REFERENCE_NUMBER`` (e.g. ``CDe.001``), which the UN
keeps for the life of a listing; ``DATAID`` is internal and ``VERSIONNUM`` changes with every amendment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from contracts.models import Entry, Identifier
from monitor.identifiers import from_remarks
from monitor.sources.base import (
    PROBE_S,
    FileSpec,
    ListKind,
    RecordError,
    SnapshotError,
    SnapshotFiles,
    SourceInfo,
    require,
)
from monitor.sources.xmlsafe import flatten, iter_records

_FILE = "consolidated.xml"
# Fields that change with every republication without changing the listing itself.
_VOLATILE = ("DATAID", "VERSIONNUM", "SORT_KEY", "SORT_KEY_LAST_MOD")
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_DETAILS_URL = "https://main.un.org/securitycouncil/en/sanctions/un-sc-consolidated-list"


def _values(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _inner(items: list[Any], key: str) -> list[str]:
    """``<X><VALUE>a</VALUE><VALUE>b</VALUE></X>`` style values."""
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            out.extend(str(v) for v in _values(item, key))
        elif item:
            out.append(str(item))
    return out


def to_entry(element: etree._Element) -> Entry | RecordError:
    raw = flatten(element)
    key = raw.get("REFERENCE_NUMBER")
    name = " ".join(str(raw[p]) for p in _NAME_PARTS if raw.get(p))
    if not key or not name:
        return RecordError(f"{_FILE}: {etree.QName(element).localname} without REFERENCE_NUMBER or name")
    is_entity = etree.QName(element).localname == "ENTITY"
    alias_tag = "ENTITY_ALIAS" if is_entity else "INDIVIDUAL_ALIAS"
    address_tag = "ENTITY_ADDRESS" if is_entity else "INDIVIDUAL_ADDRESS"
    aliases = [str(a["ALIAS_NAME"]) for a in _values(raw, alias_tag) if isinstance(a, dict) and a.get("ALIAS_NAME")]
    if original := raw.get("NAME_ORIGINAL_SCRIPT"):
        aliases.insert(0, str(original))
    addresses, countries = [], []
    for addr in _values(raw, address_tag):
        if not isinstance(addr, dict):
            continue
        parts = [str(addr[k]) for k in ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY") if addr.get(k)]
        if parts:
            addresses.append(", ".join(parts))
        if addr.get("COUNTRY"):
            countries.append(str(addr["COUNTRY"]))
    countries.extend(_inner(_values(raw, "NATIONALITY"), "VALUE"))
    identifiers = from_remarks(raw.get("COMMENTS1"))
    for doc in _values(raw, "INDIVIDUAL_DOCUMENT"):
        if isinstance(doc, dict) and doc.get("NUMBER"):
            scheme = str(doc.get("TYPE_OF_DOCUMENT") or "document").lower().replace(" ", "_")
            identifiers.append(Identifier(scheme=scheme, value=str(doc["NUMBER"])))
    stable = {k: v for k, v in raw.items() if k not in _VOLATILE}
    return Entry(
        key=str(key),
        name=name,
        aliases=list(dict.fromkeys(aliases)),
        entity_type="entity" if is_entity else "individual",
        identifiers=identifiers,
        countries=list(dict.fromkeys(countries)),
        addresses=addresses,
        programs=[str(raw["UN_LIST_TYPE"])] if raw.get("UN_LIST_TYPE") else [],
        listed_on=str(raw["LISTED_ON"]) if raw.get("LISTED_ON") else None,
        remarks=raw.get("COMMENTS1"),
        source_url=_DETAILS_URL,
        raw=stable,
    )


class UnSc:
    info = SourceInfo(
        id="un_sc",
        jurisdiction="UN",
        publisher="United Nations Security Council",
        title="United Nations Security Council Consolidated List",
        kind=ListKind.SANCTION,
        files=(FileSpec(_FILE, "https://scsanctions.un.org/resources/xml/en/consolidated.xml"),),
        key="REFERENCE_NUMBER (e.g. CDe.001): the UN's permanent reference of a listing",
        schedule_s=PROBE_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "un_sc")
        with stream:
            seen_root = False
            for element in iter_records(stream, ("INDIVIDUAL", "ENTITY", "CONSOLIDATED_LIST"), _FILE):
                seen_root = seen_root or etree.QName(element).localname == "CONSOLIDATED_LIST"
                if etree.QName(element).localname != "CONSOLIDATED_LIST":
                    yield to_entry(element)
            if not seen_root:
                raise SnapshotError(f"un_sc: {_FILE} has no CONSOLIDATED_LIST root")
