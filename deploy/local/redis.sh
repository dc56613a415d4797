#!/usr/bin/env bash
# Debian's redis-server on 127.0.0.1 with AOF persistence in the local state dir.
# Usage: redis.sh install|start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

REDIS_DIR="$LISTWATCH_STATE_DIR/redis"
PID_FILE="$REDIS_DIR/redis.pid"
LOG_FILE="$REDIS_DIR/redis.log"

install() {
  command -v redis-server >/dev/null && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "redis: installing Debian's redis-server"
  # The package's own service is not used: we start our own instance on our own port and data dir.
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
}

CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/redis-listwatch.conf"

# A Redis started before a setting was added to the file gets it now (CONFIG SET), not at its next restart.
apply_conf() {
  local name value
  while read -r name value; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    redis-cli -h 127.0.0.1 -p "$LISTWATCH_REDIS_PORT" config set "$name" "$value" >/dev/null
  done < "$CONF"
}

start() {
  if pid_alive "$PID_FILE"; then
    apply_conf
    log "redis: already running (pid $(cat "$PID_FILE")), settings of $(basename "$CONF") applied"
    return 0
  fi
  install
  mkdir -p "$REDIS_DIR"
  redis-server "$CONF" --bind 127.0.0.1 --port "$LISTWATCH_REDIS_PORT" --protected-mode yes \
    --dir "$REDIS_DIR" --appendonly yes --appendfsync everysec --save "60 1000" \
    --daemonize yes --pidfile "$PID_FILE" --logfile "$LOG_FILE"
  local i
  for ((i = 0; i < 100; i++)); do
    if redis-cli -h 127.0.0.1 -p "$LISTWATCH_REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
      log "redis: ready on 127.0.0.1:$LISTWATCH_REDIS_PORT (pid $(cat "$PID_FILE"), data $REDIS_DIR)"
      return 0
    fi
    sleep 0.1
  done
  log "redis: did not answer PING; last log lines:"; tail -n 20 "$LOG_FILE" >&2; exit 1
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_pid redis "$PID_FILE" 30 ;;
  status) if pid_alive "$PID_FILE"; then echo "redis: running (pid $(cat "$PID_FILE")) on 127.0.0.1:$LISTWATCH_REDIS_PORT"; else echo "redis: stopped"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
