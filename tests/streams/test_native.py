"""The compiled modules (streams/native.py): stale ones removed in a checkout, and CI running them compiled."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from streams import native

SUFFIX = EXTENSION_SUFFIXES[0]


@pytest.fixture(autouse=True)
def _no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """The made-up trees' extensions are empty files: judged and removed here, never loaded (the process's own
    library is loaded already, or there is none: LISTWATCH_COMPILE=0)."""
    monkeypatch.setattr(native, "_load_library", lambda root: None)


def _tree(root: Path, source_age: float, built_age: float | None, checkout: bool = True) -> Path:
    """streams/match/score.py and contracts/models.py written ``source_age`` seconds ago, score's extension
    and the shared library ``built_age`` seconds ago (None: not built)."""
    sources = [root / "streams/match/score.py", root / "contracts/models.py"]
    for source in sources:
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("x = 1\n")
    now = sources[0].stat().st_mtime
    for source in sources:
        os.utime(source, (now - source_age, now - source_age))
    if built_age is not None:
        for built in (sources[0].with_suffix(SUFFIX), root / f"{native.LIBRARY}{SUFFIX}"):
            built.write_bytes(b"")
            os.utime(built, (now - built_age, now - built_age))
    if checkout:
        (root / "pyproject.toml").write_text("")
    return root


def test_a_source_newer_than_the_extensions_removes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path, source_age=60, built_age=10)
    os.utime(root / "contracts/models.py")  # a module the compiled ones import, changed now
    assert native.stale(root) == ["contracts/models.py"]
    native.check(root)
    assert native.extensions(root) == []
    assert (root / "streams/match/score.py").exists()
    assert "contracts/models.py changed after the stream worker's modules were compiled" in capsys.readouterr().err
    native.check(root)  # nothing left to remove: quiet
    assert capsys.readouterr().err == ""


def test_fresh_extensions_or_none_at_all_are_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fresh = _tree(tmp_path / "fresh", source_age=60, built_age=10)
    native.check(fresh)
    native.check(_tree(tmp_path / "pure", source_age=60, built_age=None))
    assert sorted(p.name for p in native.extensions(fresh)) == sorted([f"score{SUFFIX}", f"{native.LIBRARY}{SUFFIX}"])
    assert capsys.readouterr().err == ""


def test_a_compiled_module_the_list_does_not_name_is_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Built from another list (another branch): fresh or not, it would run instead of its source."""
    root = _tree(tmp_path, source_age=60, built_age=10)
    left = root / f"contracts/models{SUFFIX}"
    left.write_bytes(b"")
    assert native.leftovers(root) == [left]
    assert left in native.extensions(root)  # what LISTWATCH_COMPILE=0 make install removes
    native.check(root)
    assert not left.exists()
    assert sorted(p.name for p in native.extensions(root)) == sorted([f"score{SUFFIX}", f"{native.LIBRARY}{SUFFIX}"])
    assert "removed compiled modules that streams/native.py does not list: contracts/models" in capsys.readouterr().err


def test_an_installed_package_is_not_judged_by_its_files_dates(tmp_path: Path) -> None:
    root = _tree(tmp_path, source_age=10, built_age=60, checkout=False)
    assert native.stale(root) == ["contracts/models.py", "streams/match/score.py"]
    native.check(root)  # no pyproject.toml beside the packages: not a checkout
    assert len(native.extensions(root)) == 2


@pytest.mark.skipif(
    os.environ.get("CI") != "true" or os.environ.get("LISTWATCH_COMPILE") == "0",
    reason="checked in CI, where `make test` compiles them",
)
def test_ci_runs_the_compiled_modules() -> None:
    for module in native.MODULES:
        loaded = importlib.import_module(module.removesuffix(".py").replace("/", "."))
        assert str(loaded.__file__).endswith(SUFFIX), f"{module} runs as Python: {loaded.__file__}"


def test_the_compiled_modules_import_from_anywhere(tmp_path: Path) -> None:
    """As the `listwatch` command runs them: from another directory, the checkout not on the path (the
    editable install maps the packages only; the compiled modules' shared library sits beside them)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    shown = subprocess.run(
        [sys.executable, "-c", "import streams.match.logic as m, sys; print(m.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    root = Path(native.__file__).parents[1]
    assert shown.stdout.strip().endswith(SUFFIX) == bool(native.extensions(root))
