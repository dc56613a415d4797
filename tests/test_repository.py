"""Rules about what the repository itself may hold."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

from monitor import realdata
from tests.snapshots import realdata_root

REPO = Path(__file__).resolve().parents[1]
_EMPTY = hashlib.sha256(b"").hexdigest()  # every empty __init__.py equals the real 0-byte OFAC download


def _contents(path: Path) -> Iterator[bytes]:
    """The file's bytes, and what it unpacks to when it is compressed or an archive (xlsx excepted)."""
    data = path.read_bytes()
    yield data
    unpack = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}.get(path.suffix)
    if unpack is not None:
        try:
            unpacked: bytes | None = unpack(data)
        except (OSError, EOFError, lzma.LZMAError):
            unpacked = None  # not really compressed: its bytes were checked above
        if unpacked is not None:
            yield unpacked
    if path.suffix == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not member.is_dir():
                    yield archive.read(member)


def _tracked_files() -> list[Path]:
    """Files git tracks or would add (untracked but not ignored), so a copy is caught before it is committed."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout  # fmt: skip
    return [REPO / name for name in out.decode().split("\0") if name and (REPO / name).is_file()]


def test_no_third_party_snapshot_is_copied_into_the_repository() -> None:
    root = realdata_root()
    shared: dict[str, Path] = {}
    for path in root.rglob("*"):
        if path.is_file() and path.name != "PROVENANCE.md":
            for data in _contents(path):
                shared.setdefault(hashlib.sha256(data).hexdigest(), path)
    assert len(shared) > 100, f"suspiciously few real files under {root}"
    copies = []
    for path in _tracked_files():
        if path.is_symlink():
            continue  # a link reads the shared file in place
        for data in _contents(path):
            digest = hashlib.sha256(data).hexdigest()
            if digest != _EMPTY and digest in shared:
                copies.append(f"{path.relative_to(REPO)} == {shared[digest].relative_to(root)}")
    assert not copies, "third-party snapshots copied into the repository:\n" + "\n".join(copies)


def test_every_catalogued_real_snapshot_is_there() -> None:
    root = realdata_root()
    for source, snapshots in realdata.SNAPSHOTS.items():
        for snapshot in snapshots:
            assert realdata.files(root, source, snapshot)
    assert len(realdata.notices(root)) == 41
    assert len(realdata.truth(root)) == 41
