"""OFAC Specially Designated Nationals (SDN) list, legacy CSV set. Key: ``ent_num`` (OFAC's stable id)."""

from __future__ import annotations

from monitor.sources.ofac_csv import OfacCsvSource, OfacFiles


class OfacSdn(OfacCsvSource):
    FILES = OfacFiles(main="sdn.csv", addresses="add.csv", aliases="alt.csv", comments="sdn_comments.csv")
    info = OfacCsvSource.describe(
        "ofac_sdn",
        "Specially Designated Nationals and Blocked Persons List",
        FILES,
        "https://www.treasury.gov/ofac/downloads/",
    )
