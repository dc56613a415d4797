"""Header CSV files, streamed: UTF-8 (BOM tolerated), strict quoting, truncation detected."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from typing import IO

from monitor.sources.base import RecordError, SnapshotError


def iter_dict_rows(
    stream: IO[bytes], name: str, required: tuple[str, ...], *, delimiter: str = ","
) -> Iterator[dict[str, str] | RecordError]:
    """Each data row as {column: value}; rows of the wrong width are RecordErrors, except the last
    one, which means a cut-off download and rejects the snapshot. Repeated header lines are skipped."""
    quotes = 0

    def counted(lines: Iterable[str]) -> Iterator[str]:
        nonlocal quotes
        for line in lines:
            quotes += line.count('"')
            yield line

    text = counted(codecs.iterdecode(stream, "utf-8-sig", errors="replace"))
    # Not strict: publishers' exports carry stray quotes (EBRD: ""Supper Fortuna" LLC"); a cut-off quoted
    # field still raises "unexpected end of data", and the width check below catches the rest.
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    try:
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise SnapshotError(f"{name}: header lacks {', '.join(missing)}; got {header[:8]}…")
        pending: RecordError | None = None
        for row in reader:
            if pending is not None:
                yield pending
                pending = None
            if not row or not any(cell.strip() for cell in row):
                continue
            if [c.strip() for c in row] == header:
                continue
            if len(row) != len(header):
                pending = RecordError(f"{name} line {reader.line_num}: {len(row)} fields, expected {len(header)}")
                continue
            yield dict(zip(header, row, strict=True))
    except csv.Error as exc:
        raise SnapshotError(f"{name} line {reader.line_num}: {exc} (truncated download?)") from exc
    if pending is not None:
        raise SnapshotError(f"{name}: the last record is incomplete ({pending}); truncated download?")
    if quotes % 2:
        raise SnapshotError(f"{name}: the file ends inside a quoted field; truncated download?")
