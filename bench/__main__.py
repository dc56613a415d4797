"""Run benchmarks: ``python -m bench`` runs them all, ``python -m bench NAME [options]`` one of them.

- ``parse_memory [SIZE]``: memory of parsing and diffing a large synthesised list;
- ``matching [--quick] [--part dev|test|all]``: matching quality beside nomenklatura's logic-v2 and a
  rapidfuzz floor, and time per query (needs the bench extra).
- ``diff_speed [--quick]``: diff of two OFAC-shaped snapshots up to 1M entries beside a pandas baseline;
- ``redis_memory [--quick]``: Redis bytes and keys per list entry and per watched company;
- ``delivery [--quick]``: signed webhook deliveries per second across 1,000 endpoints, beside raw POSTs;
- ``stream_throughput [--quick]``: changes per second through one stream worker, beside raw aiokafka;
- ``stream_latency [--quick]``: change -> alert latency at 100 to 1,000 changes/s offered, one worker;
- ``match_scaling [--quick]``: time per change at 10k, 100k and 1M watched companies, beside a naive scan;
- ``freshness [--minutes N] [--quick]``: publication -> delivered webhook with the default schedules, the
  three services as processes on the local Kafka and Redis (30 minutes by default).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    name, rest = (argv[0], argv[1:]) if argv and not argv[0].isdigit() else ("all", argv)
    if name in {"parse_memory", "all"}:
        from bench import parse_memory

        print(parse_memory.run(int(rest[0]) if rest and name != "all" else 1_000_000))
    if name in {"matching", "all"}:
        from bench import matching

        matching.main(rest if name == "matching" else [])
    if name in {"diff_speed", "all"}:
        from bench import diff_speed

        diff_speed.main(rest if name == "diff_speed" else [])
    if name in {"redis_memory", "all"}:
        from bench import redis_memory

        redis_memory.main(rest if name == "redis_memory" else [])
    if name in {"delivery", "all"}:
        from bench import delivery

        delivery.main(rest if name == "delivery" else [])
    if name in {"stream_throughput", "all"}:
        from bench import stream_throughput

        stream_throughput.main(rest if name == "stream_throughput" else [])
    if name in {"stream_latency", "all"}:
        from bench import stream_latency

        stream_latency.main(rest if name == "stream_latency" else [])
    if name in {"match_scaling", "all"}:
        from bench import match_scaling

        match_scaling.main(rest if name == "match_scaling" else [])
    if name in {"freshness", "all"}:
        from bench import freshness

        freshness.main(rest if name == "freshness" else [])
    known = ("parse_memory", "matching", "diff_speed", "redis_memory", "delivery", "stream_throughput",
             "stream_latency", "match_scaling", "freshness")
    if name not in {*known, "all"}:
        print(f"unknown benchmark {name!r}: {', '.join(known)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
