"""Identifiers found in free-text remarks (OFAC ``Remarks``, debarment notes, Chinese notices).

Pure functions. Values are kept as published (upper-cased, spaces removed); validation and deeper
normalisation happen in the streams enrichers.
"""

from __future__ import annotations

import re

from contracts.models import Identifier, build

# Label as published -> our scheme. Longest labels first so "Vessel Registration Identification IMO"
# wins over "IMO".
_LABELS: dict[str, str] = {
    "Unified Social Credit Code (USCC)": "uscc",
    "Vessel Registration Identification IMO": "imo",
    "Identification Number IMO": "imo",
    "Company Number IMO": "imo_company",
    "Legal Entity Number": "lei",
    "Registration Number": "registration",
    "Business Registration Number": "registration",
    "Commercial Registry Number": "registration",
    "Registration ID": "registration",
    "Company Number": "registration",
    "Chamber of Commerce Number": "registration",
    "Central Registration System Number": "registration",
    "Tax ID No.": "tax",
    "V.A.T. Number": "vat",
    "SWIFT/BIC": "swift",
    "MMSI": "mmsi",
    "Aircraft Tail Number": "aircraft_tail",
    "Passport": "passport",
    "National ID No.": "national_id",
    "Identification Number": "national_id",
}
_LABEL_RE = "|".join(re.escape(label) for label in sorted(_LABELS, key=len, reverse=True))
_REMARK_ID = re.compile(rf"(?:^|;\s*|\balt\.\s+)(?P<label>{_LABEL_RE})\s+(?P<value>[A-Z0-9][A-Z0-9./-]*[A-Z0-9])")
# 统一社会信用代码 in Chinese texts, with either colon; the code itself is 18 characters.
_USCC_ZH = re.compile(r"统一社会信用代码\s*[:：]?\s*(?P<value>[0-9A-HJ-NP-RTUW-Y]{18})")


def from_remarks(text: str | None) -> list[Identifier]:
    """Identifiers named in a remarks text, de-duplicated, in order of appearance."""
    if not text:
        return []
    found: list[Identifier] = []
    seen: set[tuple[str, str]] = set()

    def add(scheme: str, value: str) -> None:
        value = value.upper().rstrip(".")
        if (scheme, value) not in seen:
            seen.add((scheme, value))
            found.append(build(Identifier, {"scheme": scheme, "value": value}))

    for match in _REMARK_ID.finditer(text):
        add(_LABELS[match["label"]], match["value"])
    for match in _USCC_ZH.finditer(text):
        add("uscc", match["value"])
    return found


def nationality_from_remarks(text: str | None) -> list[str]:
    """Countries named as nationality, citizenship or registration in OFAC-style remarks."""
    if not text:
        return []
    pattern = r"(?:^|;\s*)(?:nationality|citizen|Nationality of Registration)\s+([A-Z][A-Za-z ,.'()-]+?)(?=;|\.?$)"
    return list(dict.fromkeys(m.strip() for m in re.findall(pattern, text)))


# Identifier types of structured lists (US CSL ``ids``, UK, EU) that are not identifiers of the party.
_NOT_IDS = ("issuer name", "target type", "equity ticker", "date", "website", "email", "phone", "gender",
            "organization type", "secondary sanctions risk", "transactions prohibited")  # fmt: skip


def scheme_for_label(label: str) -> str | None:
    """Our scheme for a published identifier type, None when the type names no identifier."""
    clean = " ".join(label.split())
    if clean in _LABELS:
        return _LABELS[clean]
    lowered = clean.lower()
    if any(word in lowered for word in _NOT_IDS):
        return None
    if "uscc" in lowered or "unified social credit" in lowered:
        return "uscc"
    if "legal entity" in lowered or lowered == "lei":
        return "lei"
    if "imo" in lowered:
        return "imo"
    if lowered == "isin":
        return "isin"
    if "swift" in lowered or "bic" in lowered:
        return "swift"
    if "registration" in lowered or "company number" in lowered:
        return "registration"
    if "tax" in lowered or lowered == "inn":
        return "tax"
    return re.sub(r"[^a-z0-9]+", "_", lowered).strip("_") or None
