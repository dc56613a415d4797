#!/usr/bin/env bash
# A real single-node KRaft Apache Kafka broker on 127.0.0.1, assembled from Maven Central jars.
# Usage: kafka.sh jars|start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

POM="$LOCAL_DIR/kafka/pom.xml"
# The jar cache is keyed by the pom's content: changing the pinned version assembles a new set.
POM_HASH="$(sha256sum "$POM" | cut -c1-12)"
LIB_DIR="$LISTWATCH_CACHE_DIR/kafka-$POM_HASH/lib"
KAFKA_DIR="$LISTWATCH_STATE_DIR/kafka"
DATA_DIR="$KAFKA_DIR/data"
PID_FILE="$KAFKA_DIR/kafka.pid"
LOG_FILE="$KAFKA_DIR/kafka.log"

jars() {
  if [ -f "$LIB_DIR/.complete" ]; then return 0; fi
  command -v java >/dev/null || { log "kafka: java not found (OpenJDK 17 is required)"; exit 1; }
  command -v mvn >/dev/null || { log "kafka: mvn not found (Maven is required to assemble the broker)"; exit 1; }
  log "kafka: assembling broker jars from Maven Central into $LIB_DIR"
  rm -rf "$LIB_DIR" && mkdir -p "$LIB_DIR"
  (cd "$LOCAL_DIR/kafka" && mvn -B -q \
      org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIB_DIR")
  ls "$LIB_DIR"/kafka_2.13-*.jar >/dev/null
  touch "$LIB_DIR/.complete"
}

write_config() {
  mkdir -p "$DATA_DIR"
  cat > "$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$LISTWATCH_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$LISTWATCH_KAFKA_PORT,CONTROLLER://127.0.0.1:$LISTWATCH_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$LISTWATCH_KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=$LISTWATCH_KAFKA_PARTITIONS
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=16777216
PROPS
  cp "$LOCAL_DIR/kafka/log4j2.properties" "$KAFKA_DIR/log4j2.properties"
}

start() {
  if pid_alive "$PID_FILE"; then log "kafka: already running (pid $(cat "$PID_FILE"))"; return 0; fi
  local t0=$SECONDS
  jars
  write_config
  local cid_file="$KAFKA_DIR/cluster.id"
  # Kafka's own Uuid never starts with '-' (the storage tool would read it as an option); nor does ours.
  [ -s "$cid_file" ] || "$LISTWATCH_PYTHON" -c "if True:
    import base64, uuid
    while (c := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip('=')).startswith('-'): pass
    print(c)" > "$cid_file"
  java -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    kafka.tools.StorageTool format -t "$(cat "$cid_file")" -c "$KAFKA_DIR/server.properties" \
    --ignore-formatted >> "$LOG_FILE" 2>&1
  log "kafka: starting on 127.0.0.1:$LISTWATCH_KAFKA_PORT (log $LOG_FILE)"
  nohup java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_DIR" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$LIB_DIR/*" kafka.Kafka "$KAFKA_DIR/server.properties" >> "$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  # Ready means a real client metadata request succeeds, not merely an open port. A few seconds on a fresh
  # data dir; the broker loads every partition first, and 18,630 of them (old runs' topics) took 114 s.
  if ! "$LISTWATCH_PYTHON" "$LOCAL_DIR/wait_kafka.py" "127.0.0.1:$LISTWATCH_KAFKA_PORT" 300 "$PID_FILE"; then
    log "kafka: did not become ready; last log lines:"; tail -n 30 "$LOG_FILE" >&2
    stop_pid kafka "$PID_FILE" 10
    exit 1
  fi
  log "kafka: ready in $((SECONDS - t0))s (pid $(cat "$PID_FILE"))"
  local partitions; partitions="$(find "$DATA_DIR" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' | wc -l)"
  if [ "$partitions" -gt 5000 ]; then
    log "kafka: its data dir holds $partitions partitions, which slow its start; \`make clean\` empties it"
  fi
}

case "${1:-}" in
  jars) jars ;;
  start) start ;;
  stop) stop_pid kafka "$PID_FILE" 30 ;;
  status) if pid_alive "$PID_FILE"; then echo "kafka: running (pid $(cat "$PID_FILE")) on 127.0.0.1:$LISTWATCH_KAFKA_PORT"; else echo "kafka: stopped"; exit 1; fi ;;
  *) echo "usage: $0 jars|start|stop|status" >&2; exit 2 ;;
esac
