"""OpenSanctions datasets (``opensanctions_<dataset>``): FollowTheMoney entities as JSON lines.

One source per dataset named in ``LISTWATCH_OPENSANCTIONS_DATASETS`` (``sanctions``, ``cn_sanctions``,
``eu_fsf`` ... any of the 300+ in the catalogue's ``index.json``). Commercial use needs an OpenSanctions data
licence: its API key goes in ``LISTWATCH_SOURCE_OPENSANCTIONS_<DATASET>_HEADERS="Authorization: ApiKey …"``.

- The full file ``entities.ftm.json``: one entity per line. List entries are the *targets* among the
  Person, Company, Organization, LegalEntity, PublicBody, Vessel and Airplane entities, keyed by entity id
  (OpenSanctions keeps ids stable across exports; merged duplicates keep the canonical ``NK-`` id).
  Sanction, Ownership, Address ... entities are links, not list entries.
- The delta files (``delta.json`` lists versions, each an ``entities.delta.json`` of ``{"op": "ADD" | "MOD" |
  "DEL", "entity": {...}}`` lines): once a full file has been seen, the monitor applies the deltas published
  after its version instead of downloading the full file again (monitor/service.py).

Each entry is mapped from its own entity's properties only, so a full file and a chain of deltas give
byte-identical entries. ``first_seen``, ``last_seen``, ``last_change`` and ``referents`` are left out: they
move on every export without anything said about the party.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any
from urllib.parse import urljoin

import orjson

from contracts.models import Entry, Identifier
from monitor.sources.base import (
    POLL_S,
    DeltaOp,
    FileSpec,
    ListKind,
    RecordError,
    SnapshotError,
    SnapshotFiles,
    SourceInfo,
    require,
)

FILE = "entities.ftm.json"
INDEX = "index.json"
_BASE = "https://data.opensanctions.org/datasets/latest/{dataset}/"

# FtM schema -> our entity type; every other schema is a link or a detail, never a list entry.
SCHEMATA = {
    "Person": "individual", "Company": "entity", "Organization": "entity", "LegalEntity": "entity",
    "PublicBody": "entity", "Vessel": "vessel", "Airplane": "aircraft",
}  # fmt: skip
_ALIASES = ("alias", "previousName", "weakAlias", "abbreviation")
# FtM identifier property -> our scheme (the schemes streams/enrich/identifiers.py checks keep their names).
IDENTIFIERS = {
    "uscCode": "uscc", "leiCode": "lei", "imoNumber": "imo", "isin": "isin", "innCode": "inn",
    "ogrnCode": "ogrn", "okpoCode": "okpo", "swiftBic": "bic", "dunsCode": "duns", "uniqueEntityId": "uei",
    "taxNumber": "tax", "vatCode": "vat", "registrationNumber": "registration", "idNumber": "id",
    "passportNumber": "passport", "mmsi": "mmsi", "serialNumber": "serial",
}  # fmt: skip
_COUNTRIES = ("country", "jurisdiction", "nationality", "citizenship", "mainCountry", "flag")
_VOLATILE = frozenset({"first_seen", "last_seen", "last_change", "referents"})


class OpenSanctions:
    def __init__(self, dataset: str, base_url: str | None = None) -> None:
        if not dataset.replace("_", "").isalnum() or dataset != dataset.lower():
            raise ValueError(f"OpenSanctions dataset names are lower-case letters, digits and _: {dataset!r}")
        self.dataset = dataset
        base = base_url or _BASE.format(dataset=dataset)
        self.info = SourceInfo(
            id=f"opensanctions_{dataset}",
            publisher="OpenSanctions",
            title=f"OpenSanctions dataset {dataset}",
            kind=ListKind.SANCTION,
            files=(FileSpec(FILE, base + FILE), FileSpec(INDEX, base + INDEX, required=False)),
            key="FtM entity id (stable across exports)",
            schedule_s=POLL_S,
        )
        self.probe = INDEX

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, FILE, self.info.id)
        with stream:
            for number, entity in _lines(stream, FILE):
                if isinstance(entity, RecordError):
                    yield entity
                    continue
                try:
                    entry = to_entry(entity)
                except RecordError as exc:
                    yield RecordError(f"{FILE} line {number}: {exc}")
                    continue
                if entry is not None:
                    yield entry

    def version(self, probe: bytes, url: str) -> tuple[str | None, str | None]:
        """The export version and delta index URL from the dataset's ``index.json`` (or from the catalogue
        ``index.json`` of every dataset, which nests them under ``datasets``)."""
        try:
            index = orjson.loads(probe)
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(f"{self.info.id}: {INDEX} is not JSON: {exc}") from exc
        if not isinstance(index, dict):
            raise SnapshotError(f"{self.info.id}: {INDEX} is not a dataset index")
        if isinstance(index.get("datasets"), list):
            index = next((d for d in index["datasets"] if isinstance(d, dict) and d.get("name") == self.dataset), {})
        version, delta = index.get("version"), index.get("delta_url")
        return (str(version) if version else None, urljoin(url, str(delta)) if delta else None)

    def versions_after(self, index: bytes, version: str) -> list[FileSpec] | None:
        """Delta files published after ``version``, oldest first; None when ``version`` is not in the index
        (too old, or another series): then only the full file will do."""
        return versions_after(index, version, self.info.id)

    def read_delta(self, stream: IO[bytes], name: str) -> Iterator[DeltaOp | RecordError]:
        return read_delta(stream, name)


def versions_after(index: bytes, version: str, source_id: str) -> list[FileSpec] | None:
    try:
        versions: Mapping[str, str] = orjson.loads(index)["versions"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise SnapshotError(f"{source_id}: the delta index has no 'versions': {exc}") from exc
    if not isinstance(versions, dict) or not all(isinstance(u, str) for u in versions.values()):
        raise SnapshotError(f"{source_id}: the delta index's 'versions' is not a map of version to URL")
    ordered = sorted(versions)  # versions are timestamps first: they sort in publication order
    if version not in versions:
        return None
    return [FileSpec(v, versions[v]) for v in ordered[ordered.index(version) + 1 :]]


def read_delta(stream: IO[bytes], name: str) -> Iterator[DeltaOp | RecordError]:
    for number, item in _lines(stream, name):
        if isinstance(item, RecordError):
            yield item
            continue
        op, entity = item.get("op"), item.get("entity")
        if op not in {"ADD", "MOD", "DEL"} or not isinstance(entity, dict) or not entity.get("id"):
            yield RecordError(f"{name} line {number}: not a delta operation: {item!r:.120}")
            continue
        try:
            entry = None if op == "DEL" else to_entry(entity)
        except RecordError as exc:
            yield RecordError(f"{name} line {number}: {exc}")
            continue
        yield DeltaOp(op, str(entity["id"]), entry)


def _lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    number = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.endswith(b"\n"):
                # A last line cut off mid-record: the download was truncated.
                raise SnapshotError(f"{name}: the last line is cut off (line {number}): {exc}") from exc
            yield number, RecordError(f"{name} line {number}: not JSON: {exc}")
            continue
        yield number, value if isinstance(value, dict) else RecordError(f"{name} line {number}: not an object")


def _values(properties: Mapping[str, Any], name: str) -> list[str]:
    values = properties.get(name) or []
    if not isinstance(values, list):
        raise RecordError(f"property {name} is not a list")
    return [" ".join(str(v).split()) for v in values if str(v).strip()]


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def to_entry(entity: Mapping[str, Any]) -> Entry | None:
    """The list entry of one FtM entity; None for links, details and non-target entities."""
    schema, entity_id = entity.get("schema"), entity.get("id")
    if not entity_id or not isinstance(schema, str):
        raise RecordError(f"entity without id or schema: {dict(entity)!r:.120}")
    if schema not in SCHEMATA or entity.get("target") is False:
        return None
    properties = entity.get("properties")
    if not isinstance(properties, dict):
        raise RecordError(f"{entity_id}: no properties")
    names = _unique(_values(properties, "name"))
    caption = str(entity.get("caption") or "").strip()
    primary = caption if caption and caption != entity_id else (names[0] if names else "")
    if not primary:
        raise RecordError(f"{entity_id}: a {schema} without a name")
    aliases = [n for n in _unique(names + [a for p in _ALIASES for a in _values(properties, p)]) if n != primary]
    identifiers = [
        Identifier(scheme=scheme, value=value)
        for prop, scheme in IDENTIFIERS.items()
        for value in _unique(_values(properties, prop))
    ]
    countries = _unique([c.upper() for p in _COUNTRIES for c in _values(properties, p) if len(c) == 2])
    dates = sorted(_values(properties, "createdAt"))
    raw = {k: v for k, v in entity.items() if k not in _VOLATILE and k != "properties"}
    raw.update({f"properties.{k}": v for k, v in sorted(properties.items())})
    return Entry(
        key=str(entity_id),
        name=primary,
        aliases=aliases,
        entity_type=SCHEMATA[schema],
        identifiers=identifiers,
        countries=countries,
        addresses=_unique(_values(properties, "address")),
        programs=_unique(_values(properties, "programId") + _values(properties, "program")),
        listed_on=dates[0][:10] if dates else None,
        remarks="; ".join(_values(properties, "notes")) or None,
        source_url=f"https://www.opensanctions.org/entities/{entity_id}/",
        raw=raw,
    )
