#!/usr/bin/env bash
# The local single-node stack: Kafka + Redis. Usage: stack.sh up|down|status
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
case "${1:-}" in
  up) bash "$here/redis.sh" start; bash "$here/kafka.sh" start ;;
  down) bash "$here/kafka.sh" stop; bash "$here/redis.sh" stop ;;
  status) rc=0; bash "$here/kafka.sh" status || rc=1; bash "$here/redis.sh" status || rc=1; exit $rc ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
