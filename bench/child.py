"""``python -m bench.child PARENT PROGRAM [ARGS...]``: PROGRAM run in this process (exec), which the kernel
sends SIGTERM when the process PARENT that started it dies (Linux's PR_SET_PDEATHSIG, kept across exec). A
benchmark killed outright (SIGKILL, a closed terminal) then leaves no worker behind: one left running kept
consuming its run's topics, and created them again once the next run had dropped them. Where prctl is
missing (not Linux), PROGRAM runs all the same."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        print(__doc__.split(":", 1)[0], file=sys.stderr)
        return 2
    parent, program = int(argv[0]), argv[1:]
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the prctl: no signal will come
        return 1
    os.execvp(program[0], program)  # noqa: S606 - the benchmark's own command line


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
