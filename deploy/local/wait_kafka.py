"""Wait until a Kafka broker answers a real client metadata request.

Usage: wait_kafka.py HOST:PORT TIMEOUT_S [PID_FILE]. Exits 0 when ready, 1 on timeout or when the
process named by PID_FILE died first (so a broken start fails fast instead of waiting out the timeout).
"""

import asyncio
import logging
import os
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient


def _alive(pid_file: str | None) -> bool:
    if not pid_file:
        return True
    try:
        with open(pid_file) as fh:
            os.kill(int(fh.read().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


async def _probe(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.describe_cluster()
    except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
        return False
    finally:
        await admin.close()
    return True


async def main(bootstrap: str, timeout_s: float, pid_file: str | None) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid_file):
            print("broker process exited", file=sys.stderr)
            return 1
        if await _probe(bootstrap):
            return 0
        await asyncio.sleep(0.5)
    print(f"no metadata answer from {bootstrap} within {timeout_s}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    # aiokafka logs every refused connection while the broker boots; only the verdict matters here.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)))
