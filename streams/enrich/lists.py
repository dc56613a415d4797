"""List metadata enricher: kind, authority, jurisdiction, and red or black."""

from __future__ import annotations

# Source id -> (jurisdiction, authority). Feeds carry their own kind and publisher on the change.
_LISTS: dict[str, tuple[str, str]] = {
    "ofac_sdn": ("US", "US Treasury OFAC"),
    "ofac_cons": ("US", "US Treasury OFAC"),
    "us_csl": ("US", "US Commerce / State / Treasury"),
    "un_sc": ("UN", "UN Security Council"),
    "eu_fsf": ("EU", "European Union"),
    "uk_fcdo": ("GB", "UK FCDO"),
    "worldbank": ("INT", "World Bank Group"),
    "adb": ("INT", "Asian Development Bank"),
    "ebrd": ("INT", "EBRD"),
    "afdb": ("INT", "African Development Bank"),
    "idb": ("INT", "Inter-American Development Bank"),
    "cn_sanctions": ("CN", "PRC MFA / MOFCOM"),
    "cn_mofcom": ("CN", "PRC MOFCOM / MFA"),
}


def list_metadata(source: str, list_kind: str | None, publisher: str | None) -> tuple[str | None, str, str | None]:
    """(jurisdiction, colour, authority). Only red lists reward; every other kind punishes."""
    jurisdiction, authority = _LISTS.get(source, (None, publisher))
    colour = "red" if list_kind == "red list" else "black"
    return jurisdiction, colour, authority or publisher
