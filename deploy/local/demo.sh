#!/usr/bin/env bash
# The whole product in miniature on the local stack: a list server replaying real OFAC snapshots, the
# monitor, a stream worker and the alerts service, with a demo subscriber's watchlist.
# Usage: demo.sh start|stop|status. `make demo` runs `start` after `make up`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

DEMO_DIR="$LISTWATCH_STATE_DIR/demo"
BIN="$REPO_ROOT/.venv/bin"
LIST_PORT="${LISTWATCH_DEMO_LIST_PORT:-8700}"
ADVANCE_S="${LISTWATCH_DEMO_ADVANCE_S:-20}"
SHOW_S="${LISTWATCH_DEMO_SHOW_S:-75}"
API_PORT="${LISTWATCH_DEMO_API_PORT:-8080}"
RECEIVER_PORT="${LISTWATCH_DEMO_RECEIVER_PORT:-8701}"
PROCS=(listserver monitor streams alerts receiver)

start_proc() {  # name, command...
  local name="$1"; shift
  nohup "$@" > "$DEMO_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$DEMO_DIR/$name.pid"
}

start() {
  for p in "${PROCS[@]}"; do
    if pid_alive "$DEMO_DIR/$p.pid"; then log "demo already running ($p); \`make down\` first"; exit 1; fi
  done
  rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
  # A fresh namespace per run: new topics, groups and Redis keys, so every demo starts from a baseline.
  export LISTWATCH_NAMESPACE="demo-$(date +%s)"
  export LISTWATCH_KAFKA_BOOTSTRAP="127.0.0.1:$LISTWATCH_KAFKA_PORT"
  export LISTWATCH_REDIS_URL="redis://127.0.0.1:$LISTWATCH_REDIS_PORT/0"
  echo "$LISTWATCH_NAMESPACE" > "$DEMO_DIR/namespace"
  # Earlier demos' keys and topics (nothing reads them again; left, they add up in the local stack).
  "$LISTWATCH_PYTHON" "$LOCAL_DIR/demo_drop.py" demo- "$LISTWATCH_NAMESPACE"

  # Real OFAC snapshots read in place from the shared real data, or generated ones where it is absent.
  "$LISTWATCH_PYTHON" "$LOCAL_DIR/demo_lists.py" "$DEMO_DIR/lists" "$LOCAL_DIR/demo/watchlist.csv" \
    > "$DEMO_DIR/lists.env"
  source "$DEMO_DIR/lists.env"
  start_proc listserver "$BIN/listwatch" listserver --root "$DEMO_DIR/lists" --port "$LIST_PORT" \
    --advance-every "$ADVANCE_S" --sequence "ofac_sdn=$DEMO_LISTS_SEQUENCE"
  LISTWATCH_STREAMS_WEB_PORT=6066 start_proc streams "$BIN/listwatch" streams
  # The alerts service with its API; the demo's webhook receiver is on loopback, so allow that network.
  local admin
  admin="$("$LISTWATCH_PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')"
  echo "$admin" > "$DEMO_DIR/admin_token"
  LISTWATCH_ADMIN_TOKEN="$admin" LISTWATCH_API_PORT="$API_PORT" LISTWATCH_METRICS_PORT=9102 \
    LISTWATCH_WEBHOOK_ALLOW=127.0.0.1/32 LISTWATCH_RETRY_SCHEDULE_S=0,2,5,10,30 \
    LISTWATCH_ALERTS_FILE="$DEMO_DIR/alerts.jsonl" start_proc alerts "$BIN/listwatch" alerts
  # A demo subscriber, through the API: its watchlist (real companies) and a webhook endpoint.
  "$LISTWATCH_PYTHON" "$LOCAL_DIR/demo_setup.py" "http://127.0.0.1:$API_PORT" "$admin" \
    "$LOCAL_DIR/demo/watchlist.csv" "http://127.0.0.1:$RECEIVER_PORT/listwatch" > "$DEMO_DIR/subscriber.env"
  source "$DEMO_DIR/subscriber.env"
  start_proc receiver "$BIN/listwatch" receiver --secret "$DEMO_WEBHOOK_SECRET" --port "$RECEIVER_PORT"
  LISTWATCH_MONITOR_SOURCES=ofac_sdn \
    LISTWATCH_SOURCE_OFAC_SDN_URL="http://127.0.0.1:$LIST_PORT/ofac_sdn/" \
    LISTWATCH_SOURCE_OFAC_SDN_SCHEDULE_S=5 LISTWATCH_LEASE_TTL_S=10 \
    LISTWATCH_MONITOR_WORK_DIR="$DEMO_DIR/work" LISTWATCH_MONITOR_PORT=9101 \
    start_proc monitor "$BIN/listwatch" monitor

  cat <<INFO

listwatch demo (namespace $LISTWATCH_NAMESPACE)
  list server   http://127.0.0.1:$LIST_PORT/_status   $DEMO_LISTS_ABOUT, every ${ADVANCE_S}s
  web page      http://127.0.0.1:$API_PORT/app/   sign in with the key $DEMO_API_KEY
  API           http://127.0.0.1:$API_PORT/v1/openapi.json   subscriber $DEMO_SUBSCRIBER, key in $DEMO_DIR/subscriber.env
                e.g. curl -H "Authorization: Bearer \$DEMO_API_KEY" http://127.0.0.1:$API_PORT/v1/status
  metrics       monitor http://127.0.0.1:9101/metrics  streams http://127.0.0.1:6066/metrics  alerts http://127.0.0.1:9102/metrics
  health        /healthz and /readyz on the same ports
  webhooks      signed CloudEvents to the receiver on http://127.0.0.1:$RECEIVER_PORT/ (log $DEMO_DIR/receiver.log)
  watchlist     deploy/local/demo/watchlist.csv ($DEMO_IMPORTED companies)
  logs          $DEMO_DIR/*.log; alerts as JSON lines in $DEMO_DIR/alerts.jsonl
The first snapshot is the baseline: watched companies already on it alert as ALREADY_LISTED, never as
ADDED; the next snapshot brings real additions, removals and changes, then a broken (0-byte) download.
Showing alerts for ${SHOW_S}s; everything keeps running until \`make down\`.

INFO
  local deadline=$((SECONDS + SHOW_S)) shown=0 lines hooks_shown=0 hooks
  while ((SECONDS < deadline)); do
    for p in "${PROCS[@]}"; do
      if ! pid_alive "$DEMO_DIR/$p.pid"; then log "demo: $p exited; last lines:"; tail -n 20 "$DEMO_DIR/$p.log" >&2; exit 1; fi
    done
    lines=$(grep -c '^ALERT' "$DEMO_DIR/alerts.log" 2>/dev/null || true)
    if ((lines > shown)); then grep '^ALERT' "$DEMO_DIR/alerts.log" | sed -n "$((shown + 1)),${lines}p"; shown=$lines; fi
    hooks=$(grep -c '^WEBHOOK' "$DEMO_DIR/receiver.log" 2>/dev/null || true)
    if ((hooks > hooks_shown)); then grep '^WEBHOOK' "$DEMO_DIR/receiver.log" | sed -n "$((hooks_shown + 1)),${hooks}p"; hooks_shown=$hooks; fi
    if grep -q "REJECTED" "$DEMO_DIR/monitor.log" 2>/dev/null && [ ! -f "$DEMO_DIR/.rejected_shown" ]; then
      touch "$DEMO_DIR/.rejected_shown"
      echo "GUARD $(grep -m1 REJECTED "$DEMO_DIR/monitor.log" | sed 's/.*monitor.service: //')"
    fi
    sleep 1
  done
  echo
  echo "$shown alerts and $hooks_shown signed webhooks in ${SHOW_S}s. Services still running: \`make status\`, \`make down\` to stop."
}

stop() {
  for p in monitor alerts streams receiver listserver; do stop_pid "demo $p" "$DEMO_DIR/$p.pid" 30; done
}

status() {
  for p in "${PROCS[@]}"; do
    if pid_alive "$DEMO_DIR/$p.pid"; then echo "demo $p: running (pid $(cat "$DEMO_DIR/$p.pid"))"; else echo "demo $p: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
