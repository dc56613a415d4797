"""EU Financial Sanctions Files (consolidated list, XML, namespace ``http://eu.europa.ec/fpi/fsd/export``).
Key: ``sanctionEntity@logicalId``, the EU's permanent id of a listed subject (``euReferenceNumber``
can be reassigned when a regulation is recast)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from contracts.models import Entry, Identifier
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
from monitor.sources.xmlsafe import iter_records

_FILE = "eu_fsf.xml"
_URL = ("https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content"
        "?token=dG9rZW4tMjAxNw")  # fmt: skip
_TYPES = {"person": "individual", "enterprise": "entity", "vessel": "vessel", "aircraft": "aircraft"}
_ID_SCHEMES = {"regnumber": "registration", "tax": "tax", "swiftbic": "swift", "imo": "imo", "passport": "passport",
               "id": "national_id", "fiscalcode": "tax", "other": "other"}  # fmt: skip


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name]


def to_entry(element: etree._Element) -> Entry | RecordError:
    a = element.attrib
    key = a.get("logicalId")
    names = [n.attrib.get("wholeName", "").strip() for n in _children(element, "nameAlias")]
    names = [n for n in dict.fromkeys(names) if n]
    if not key or not names:
        return RecordError(f"{_FILE}: sanctionEntity without logicalId or name")
    subject = _children(element, "subjectType")
    subject_code = subject[0].attrib.get("code", "") if subject else ""
    identifiers = [
        Identifier(scheme=_ID_SCHEMES.get(i.attrib.get("identificationTypeCode", "").lower(), "other"),
                   value=i.attrib["number"].strip())
        for i in _children(element, "identification") if i.attrib.get("number", "").strip()
    ]  # fmt: skip
    addresses, countries = [], []
    for addr in _children(element, "address"):
        parts = [addr.attrib.get(k, "").strip() for k in ("street", "city", "zipCode", "countryDescription")]
        if line := ", ".join(p for p in parts if p):
            addresses.append(line)
        if country := addr.attrib.get("countryIso2Code", "").strip():
            countries.append(country)
    for citizenship in _children(element, "citizenship"):
        if country := citizenship.attrib.get("countryIso2Code", "").strip():
            countries.append(country)
    programs = [r.attrib.get("programme", "") for r in _children(element, "regulation") if r.attrib.get("programme")]
    remarks = " ".join((r.text or "").strip() for r in _children(element, "remark") if (r.text or "").strip())
    raw = {
        "attributes": dict(sorted(a.items())),
        "names": [dict(sorted(n.attrib.items())) for n in _children(element, "nameAlias")],
        "regulations": [dict(sorted(r.attrib.items())) for r in _children(element, "regulation")],
        "identifications": [dict(sorted(i.attrib.items())) for i in _children(element, "identification")],
        "addresses": [dict(sorted(x.attrib.items())) for x in _children(element, "address")],
    }
    return Entry(
        key=key,
        name=names[0],
        aliases=names[1:],
        entity_type=_TYPES.get(subject_code, "unknown"),
        identifiers=identifiers,
        countries=list(dict.fromkeys(countries)),
        addresses=addresses,
        programs=list(dict.fromkeys(programs)),
        listed_on=a.get("designationDate") or None,
        remarks=remarks or None,
        source_url="https://data.europa.eu/data/datasets/consolidated-list-of-persons-groups-and-entities-subject-to-eu-financial-sanctions",
        raw=raw,
    )


class EuFsf:
    info = SourceInfo(
        id="eu_fsf",
        jurisdiction="EU",
        publisher="European Commission (FPI)",
        title="Consolidated list of persons, groups and entities subject to EU financial sanctions",
        kind=ListKind.SANCTION,
        files=(FileSpec(_FILE, _URL),),
        key="sanctionEntity@logicalId: the EU's permanent id of a listed subject",
        schedule_s=PROBE_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "eu_fsf")
        with stream:
            root_seen = False
            for element in iter_records(stream, ("sanctionEntity", "export"), _FILE):
                if etree.QName(element).localname == "export":
                    root_seen = True
                    continue
                yield to_entry(element)
            if not root_seen:
                raise SnapshotError("eu_fsf: no <export> root element")
