"""The alerts service's commands: run the service, and a webhook receiver that verifies signatures."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from contracts.cli import EXIT_USAGE


def cmd_alerts(_: argparse.Namespace, env: Mapping[str, str]) -> int:
    from alerts.runner import run

    run(env)
    return 0


def cmd_receiver(args: argparse.Namespace, _: Mapping[str, str]) -> int:
    import asyncio

    from alerts.receiver import serve

    if not args.secret.startswith("whsec_"):
        print("listwatch receiver: --secret must be the endpoint's whsec_… secret", file=sys.stderr)
        return EXIT_USAGE
    asyncio.run(serve(args.secret, args.host, args.port))
    return 0


def register(sub: Any) -> None:
    sub.add_parser("alerts", help="run the alert delivery service and the API").set_defaults(func=cmd_alerts)
    p = sub.add_parser("receiver", help="a webhook receiver that verifies signatures and prints events")
    p.add_argument("--secret", required=True, help="the endpoint's signing secret (whsec_…)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8701)
    p.set_defaults(func=cmd_receiver)
