"""OFAC non-SDN Consolidated Sanctions List (SSI, NS-MBS, CMIC …), legacy CSV set. Key: ``ent_num``."""

from __future__ import annotations

from collections.abc import Iterator

from monitor.sources import ofac_csv
from monitor.sources.base import ListKind, RecordError, SnapshotFiles, SourceInfo
from streams.models import Entry

_BASE = "https://www.treasury.gov/ofac/downloads/consolidated/"
_FILES = ofac_csv.OfacFiles(
    main="cons_prim.csv", addresses="cons_add.csv", aliases="cons_alt.csv", comments="cons_comments.csv"
)


class OfacCons:
    info = SourceInfo(
        id="ofac_cons",
        publisher="US Treasury, Office of Foreign Assets Control",
        title="Consolidated Sanctions List (non-SDN)",
        kind=ListKind.SANCTION,
        files=_FILES.specs(_BASE),
        key=ofac_csv.KEY,
        schedule_s=3600,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        return ofac_csv.parse(self.info, _FILES, files)
