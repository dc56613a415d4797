"""Run every benchmark and print its report."""

from __future__ import annotations

import sys

from bench import parse_memory


def main() -> int:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(parse_memory.run(size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
