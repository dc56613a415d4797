"""The ``listwatch`` command: one thin entry point. Each package registers its own subcommands (entry points
in the ``listwatch.commands`` group, pyproject.toml), so this module imports none of them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from contracts.settings import CommonSettings, SettingsError, configure_logging

EXIT_USAGE = 2
EXIT_REJECTED = 3
# Another process holds the job's lease (a vacuum already running): try again later.
EXIT_BUSY = 4
# A package's registrar adds its subcommands; each sets ``func(args, env) -> exit code``.
Registrar = Callable[[Any], None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="listwatch", description="listwatch: list changes to signed alerts.")
    sub = parser.add_subparsers(dest="command", required=True)
    for entry in sorted(entry_points(group="listwatch.commands"), key=lambda e: e.name):
        register: Registrar = entry.load()
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    args = build_parser().parse_args(argv)
    try:
        configure_logging(CommonSettings.from_env(env))
        result: int = args.func(args, env)
    except SettingsError as exc:
        print(f"listwatch: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return result


if __name__ == "__main__":
    sys.exit(main())
