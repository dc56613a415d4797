"""All enrichers over one change: pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.models import EnrichedChange, Enrichment, Entry, ListChange, NameVariant, build
from streams.enrich.base import EnrichmentError
from streams.enrich.countries import enrich_countries
from streams.enrich.identifiers import enrich_identifiers
from streams.enrich.names import name_form


def entry_names(entry: Entry) -> list[str]:
    return list(dict.fromkeys([n for n in (entry.name, *entry.aliases) if n and n.strip()]))


def variants(names: Iterable[str]) -> list[NameVariant]:
    out = []
    for name in dict.fromkeys(names):
        form = name_form(name)
        out.append(build(NameVariant, {"original": form.original, "normalised": form.normalised, "core": form.core,
                                       "script": form.script, "ascii": form.ascii}))  # fmt: skip
    return out


def enrich_entries(
    entries: Iterable[Entry], list_kind: str | None, publisher: str | None, jurisdiction: str | None
) -> Enrichment:
    """Names, identifiers and countries of the entries together, with the list's metadata as its source gave
    it. Only red lists reward; every other kind of list punishes ("black")."""
    errors: list[str] = []
    entries = list(entries)
    names: list[str] = []
    identifiers = []
    countries: list[str] = []
    for entry in entries:
        names.extend(entry_names(entry))
        identifiers.extend(entry.identifiers)
        countries.extend(entry.countries)
    try:
        name_variants = variants(names)
    except Exception as exc:  # noqa: BLE001 - one entry's bad name must not stop the stream
        errors.append(f"names: {EnrichmentError(exc)}")
        name_variants = []
    codes, unknown = enrich_countries(countries)
    errors.extend(f"country not recognised: {u!r}" for u in unknown)
    # Records here are built past faust's field descriptors (contracts.models.build): its constructor
    # re-checks every nested record, a quarter of a baseline's enrichment.
    return build(Enrichment, {
        "names": name_variants,
        "identifiers": enrich_identifiers(identifiers),
        "countries": codes,
        "list_kind": list_kind,
        "list_colour": "red" if list_kind == "red list" else "black",
        "jurisdiction": jurisdiction,
        "authority": publisher,
        "entity_type": entries[-1].entity_type if entries else "unknown",
        "errors": errors,
    })  # fmt: skip


def enrich(change: ListChange) -> EnrichedChange:
    """The change with both its before and after entries enriched together, so that a renamed entry
    still reaches those who watch the old name."""
    entries = [e for e in (change.before, change.after) if e is not None]
    enrichment = enrich_entries(entries, change.list_kind, change.publisher, change.jurisdiction)
    return build(EnrichedChange, {"change": change, "enrichment": enrichment})
