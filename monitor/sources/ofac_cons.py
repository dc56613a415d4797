"""OFAC non-SDN Consolidated Sanctions List (SSI, NS-MBS, CMIC …), legacy CSV set. Key: ``ent_num``."""

from __future__ import annotations

from monitor.sources.ofac_csv import OfacCsvSource, OfacFiles


class OfacCons(OfacCsvSource):
    FILES = OfacFiles(
        main="cons_prim.csv", addresses="cons_add.csv", aliases="cons_alt.csv", comments="cons_comments.csv"
    )
    info = OfacCsvSource.describe(
        "ofac_cons",
        "Consolidated Sanctions List (non-SDN)",
        FILES,
        "https://www.treasury.gov/ofac/downloads/consolidated/",
    )
