"""The stream worker's pure modules that are also compiled with mypyc: each becomes a C extension beside its
source, built from the same typed code (`make install`, or ``LISTWATCH_COMPILE=1`` for setup.py), and Python
imports the extension first. Why: the worker's profile is flat, mostly our own Python (docs/benchmarks.md).
``LISTWATCH_COMPILE=0 make install`` removes them and runs the same modules as Python.

Compiled code also keeps what it assumed of the types it imports, so in a source checkout the extensions are
stale once any module of ``streams`` or ``contracts`` is newer than they are: importing ``streams`` then
removes them (build output, like a stale ``.pyc``) and says so, and the modules run as Python until
`make install` compiles them again. This module imports nothing of the project: setup.py reads it alone.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# Pure functions only (no faust Records, no subclasses of builtin exceptions: mypyc compiles those
# differently); paths from the project root.
MODULES = (
    "streams/enrich/change.py",
    "streams/enrich/countries.py",
    "streams/enrich/identifiers.py",
    "streams/enrich/names.py",
    "streams/match/keys.py",
    "streams/match/logic.py",
    "streams/match/score.py",
)
# mypycify's group, and the shared library of the compiled code it names: a top-level module beside the packages
GROUP = "listwatch_native"
LIBRARY = f"{GROUP}__mypyc"
# what compiled code may have assumed things of
_SOURCES = ("streams", "contracts")


def extensions(root: Path) -> list[Path]:
    """The compiled modules and their shared library present under ``root``, leftovers included."""
    return _listed(root) + leftovers(root)


def _listed(root: Path) -> list[Path]:
    """The compiled modules ``MODULES`` names and their shared library, present under ``root``."""
    names = [m.removesuffix(".py") for m in MODULES] + [LIBRARY]
    return [p for name in names for suffix in EXTENSION_SUFFIXES if (p := root / f"{name}{suffix}").exists()]


def leftovers(root: Path) -> list[Path]:
    """Extensions under ``root``'s packages of modules ``MODULES`` does not list: built from another list (an
    older checkout, another branch). Python imports an extension before its source, so one left there would
    run in its stead, whatever its source says now."""
    listed = {m.removesuffix(".py") for m in MODULES}
    suffixes = sorted(EXTENSION_SUFFIXES, key=len, reverse=True)  # ".cpython-311-x86_64-linux-gnu.so" before ".so"
    out = []
    for d in _SOURCES:
        for path in (root / d).rglob("*"):
            suffix = next((s for s in suffixes if path.name.endswith(s)), None)
            if suffix is not None and str(path.relative_to(root)).removesuffix(suffix) not in listed:
                out.append(path)
    return sorted(out)


def stale(root: Path) -> list[str]:
    """The sources under ``root`` newer than its oldest listed extension (none without extensions)."""
    built = _listed(root)
    if not built:
        return []
    oldest = min(p.stat().st_mtime for p in built)
    return sorted(
        str(p.relative_to(root)) for d in _SOURCES for p in (root / d).rglob("*.py") if p.stat().st_mtime > oldest
    )


def check(root: Path) -> None:
    """In a source checkout, remove stale extensions (an installed package's files all date from its install,
    in no set order, so there the dates say nothing), and make the fresh ones' shared library importable."""
    if not (root / "pyproject.toml").exists():
        return
    left = leftovers(root)
    for path in left:
        path.unlink(missing_ok=True)
    if left:
        names = ", ".join(str(p.relative_to(root)) for p in left)
        print(f"listwatch: removed compiled modules that streams/native.py does not list: {names}", file=sys.stderr)
    changed = stale(root)
    if changed:
        for path in _listed(root):  # the leftovers went above
            path.unlink(missing_ok=True)  # another process may have removed it first
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        print(
            f"listwatch: {shown} changed after the stream worker's modules were compiled: the compiled ones are "
            "removed and run as Python; `make install` compiles them again (streams/native.py)",
            file=sys.stderr,
        )
    _load_library(root)


def _load_library(root: Path) -> None:
    """The shared library sits at the checkout's root, which the editable install does not put on the path
    (`listwatch` runs from anywhere): loaded from its file, the compiled modules find it by its name."""
    if LIBRARY in sys.modules:
        return
    for suffix in EXTENSION_SUFFIXES:
        path = root / f"{LIBRARY}{suffix}"
        if path.exists():
            spec = importlib.util.spec_from_file_location(LIBRARY, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            library = importlib.util.module_from_spec(spec)
            sys.modules[LIBRARY] = library
            spec.loader.exec_module(library)
            return
