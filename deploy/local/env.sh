# Shared defaults for the local single-node stack. Sourced by kafka.sh, redis.sh and stack.sh.
# Every value can be overridden from the environment; the Python services read the same names.
LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LOCAL_DIR/../.." && pwd)"
# Runtime state (data, logs, pids): inside the checkout, ignored by git, removed by `make clean`.
LISTWATCH_STATE_DIR="${LISTWATCH_STATE_DIR:-$REPO_ROOT/.state}"
# Downloaded jars outlive the checkout so a fresh clone on the same machine starts without Maven.
LISTWATCH_CACHE_DIR="${LISTWATCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/listwatch}"
# Non-default ports so a developer's own Kafka or Redis on 9092/6379 is never touched.
LISTWATCH_KAFKA_PORT="${LISTWATCH_KAFKA_PORT:-19092}"
LISTWATCH_KAFKA_CONTROLLER_PORT="${LISTWATCH_KAFKA_CONTROLLER_PORT:-$((LISTWATCH_KAFKA_PORT + 1))}"
LISTWATCH_KAFKA_PARTITIONS="${LISTWATCH_KAFKA_PARTITIONS:-4}"
LISTWATCH_REDIS_PORT="${LISTWATCH_REDIS_PORT:-16379}"
LISTWATCH_PYTHON="${LISTWATCH_PYTHON:-$REPO_ROOT/.venv/bin/python}"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# pid_alive FILE: true when FILE names a running process.
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid NAME FILE [SECONDS]: SIGTERM, wait, then SIGKILL; removes FILE.
stop_pid() {
  local name="$1" file="$2" wait_s="${3:-30}" pid i
  if ! pid_alive "$file"; then rm -f "$file"; log "$name: not running"; return 0; fi
  pid="$(cat "$file")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$file"; log "$name: stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  log "$name: did not stop in ${wait_s}s, killing pid $pid"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}
