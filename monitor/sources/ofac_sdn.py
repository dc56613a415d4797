"""OFAC Specially Designated Nationals (SDN) list, legacy CSV set. Key: ``ent_num`` (OFAC's stable id)."""

from __future__ import annotations

from collections.abc import Iterator

from monitor.sources import ofac_csv
from monitor.sources.base import ListKind, RecordError, SnapshotFiles, SourceInfo
from streams.models import Entry

_BASE = "https://www.treasury.gov/ofac/downloads/"
_FILES = ofac_csv.OfacFiles(main="sdn.csv", addresses="add.csv", aliases="alt.csv", comments="sdn_comments.csv")


class OfacSdn:
    info = SourceInfo(
        id="ofac_sdn",
        publisher="US Treasury, Office of Foreign Assets Control",
        title="Specially Designated Nationals and Blocked Persons List",
        kind=ListKind.SANCTION,
        files=_FILES.specs(_BASE),
        key=ofac_csv.KEY,
        schedule_s=3600,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        return ofac_csv.parse(self.info, _FILES, files)
