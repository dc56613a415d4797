"""Real list snapshots kept gzipped under tests/fixtures (see tests/fixtures/PROVENANCE.md)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def materialise(source: str, snapshot: str, dest: Path) -> Path:
    """Decompress one fixture snapshot's files into ``dest/source/snapshot`` and return that directory."""
    src = FIXTURES / source / snapshot
    if not src.is_dir():
        raise FileNotFoundError(src)
    out = dest / source / snapshot
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.iterdir()):
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fin, (out / path.stem).open("wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copyfile(path, out / path.name)
    return out
