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
# A label and its value. An item opens at the text's start, after ";" or after "alt. " (``_opens_item``): tested
# by hand at each label found, because a pattern that starts with those openers is tried at every character
# (2.5x slower on OFAC remarks; tests/monitor/test_identifiers.py checks both give the same on real remarks).
_LABELLED = re.compile(rf"(?P<label>{_LABEL_RE})\s+(?P<value>[A-Z0-9][A-Z0-9./-]*[A-Z0-9])")
# 统一社会信用代码 in Chinese texts, with either colon; the code itself is 18 characters.
_USCC_ZH = re.compile(r"统一社会信用代码\s*[:：]?\s*(?P<value>[0-9A-HJ-NP-RTUW-Y]{18})")


def from_remarks(text: str | None) -> list[Identifier]:
    """Identifiers named in a remarks text, de-duplicated, in order of appearance."""
    if not text:
        return []
    found: dict[tuple[str, str], None] = {}
    at = 0
    while match := _LABELLED.search(text, at):
        if _opens_item(text, match.start()):
            found[_LABELS[match["label"]], match["value"].upper().rstrip(".")] = None
            at = match.end()
        else:
            at = match.start() + 1
    if "统一社会信用代码" in text:
        for match in _USCC_ZH.finditer(text):
            found.setdefault(("uscc", match["value"].upper().rstrip(".")))
    return [build(Identifier, {"scheme": scheme, "value": value}) for scheme, value in found]


def _opens_item(text: str, at: int) -> bool:
    """Whether ``at`` is the text's start, or follows ``;`` (and any spaces) or a whole word ``alt.`` and a space."""
    if at == 0:
        return True
    head = text[:at]
    stripped = head.rstrip()
    if stripped.endswith(";"):
        return True
    if len(stripped) == len(head) or not stripped.endswith("alt."):
        return False
    return len(stripped) == 4 or not (stripped[-5].isalnum() or stripped[-5] == "_")


_NATIONALITY = re.compile(
    r"(?:^|;\s*)(?:nationality|citizen|Nationality of Registration)\s+([A-Z][A-Za-z ,.'()-]+?)(?=;|\.?$)"
)


def nationality_from_remarks(text: str | None) -> list[str]:
    """Countries named as nationality, citizenship or registration in OFAC-style remarks."""
    if not text or ("ationality" not in text and "citizen" not in text):  # every label holds one of the two
        return []
    return list(dict.fromkeys(map(str.strip, _NATIONALITY.findall(text))))


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
