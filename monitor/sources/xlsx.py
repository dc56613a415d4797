"""Reading XLSX exports row by row (openpyxl read-only mode: the sheet is streamed, not loaded whole)."""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from monitor.sources.base import SnapshotError


def iter_rows(stream: IO[bytes], name: str) -> Iterator[tuple[Any, ...]]:
    """Every row of the first sheet as a tuple of cell values."""
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # Power BI and website exports carry no default style; harmless.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SnapshotError(f"{name}: not a readable XLSX workbook ({exc}); truncated download?") from exc
    try:
        sheet = workbook.worksheets[0]
        # Exports often declare a wrong sheet size (A1 only); read what is really there.
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()
