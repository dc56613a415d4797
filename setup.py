"""The package is described in pyproject.toml; this file only adds the compiled modules.

With ``LISTWATCH_COMPILE=1`` the modules streams/native.py names are compiled with mypyc (C extensions beside
their sources). It needs mypy, a C compiler and the project's dependencies in the building environment:
``make install`` builds them in place in the virtualenv, deploy/Dockerfile with ``--no-build-isolation``.
Without it (a plain ``pip install .``) the package is pure Python and behaves the same.
"""

import os
import runpy

from setuptools import setup


def ext_modules() -> list[object]:
    if os.environ.get("LISTWATCH_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    native = runpy.run_path("streams/native.py")
    return list(mypycify(list(native["MODULES"]), opt_level="3", group_name=native["GROUP"]))


setup(ext_modules=ext_modules())
