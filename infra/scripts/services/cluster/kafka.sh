#!/usr/bin/env bash
# Kafka for the cluster topology: three Apache Kafka 3.9.1 nodes in KRaft, each
# broker and controller (a static quorum of three, so one can die), topics
# replicated 3 times with min.insync.replicas 2. Same jars as the single node
# (services/kafka.sh install puts them in the cache); data under
# var/cluster/kafka-N, pid/log files under var/cluster/run and var/cluster/log.
# Usage: kafka.sh install|up|down|status   (normally via services.sh --topology cluster)
# `up` starts whichever node is not running, so after a fault test kills one,
# `up` brings just that one back.
set -euo pipefail
SERVICE=kafka
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

KAFKA_VERSION=3.9.1
KAFKA_LIBS="$RECSYS_CACHE/kafka-$KAFKA_VERSION/libs"
# Client ports, controller ports: node N uses the Nth of each list.
read -r -a KAFKA_PORTS <<<"${KAFKA_CLUSTER_PORTS:-19092 19093 19094}"
read -r -a KAFKA_CONTROLLER_PORTS <<<"${KAFKA_CLUSTER_CONTROLLER_PORTS:-19192 19193 19194}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-180}"
# Three JVMs on one small machine: a quarter of the single node's heap each.
KAFKA_HEAP_OPTS="${KAFKA_CLUSTER_HEAP_OPTS:--Xms128m -Xmx512m}"
(( ${#KAFKA_PORTS[@]} == 3 && ${#KAFKA_CONTROLLER_PORTS[@]} == 3 )) \
  || die "KAFKA_CLUSTER_PORTS and KAFKA_CLUSTER_CONTROLLER_PORTS need three ports each"

node_home() { printf '%s/kafka-%s' "$CLUSTER_DIR" "$1"; }
node_props() { printf '%s/server.properties' "$(node_home "$1")"; }
node_log() { printf '%s/kafka-%s.log' "$LOG_DIR" "$1"; }
# Our properties path in the command line tells this node apart from the
# single-node broker and from the other two.
node_pattern() { printf 'kafka.Kafka %s' "$(node_props "$1")"; }

svc_install() {
  # The single-node script owns Java and the jar cache; reuse both.
  bash "$SERVICES_DIR/kafka.sh" install
}

find_java() {
  local j
  for j in "${KAFKA_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
           /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-21-openjdk-*/bin/java; do
    [[ -n $j && -x $j ]] && { printf '%s' "$j"; return 0; }
  done
  return 1
}

java_cmd() {
  local java opts=()
  java=$(find_java) || die "no java found (set KAFKA_JAVA)"
  if [[ $1 == broker ]]; then
    read -r -a opts <<<"$KAFKA_HEAP_OPTS"
    opts+=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
      "-Dlog4j.configuration=file:$INFRA_DIR/kafka/log4j.properties")
  else
    opts=(-Xmx256m "-Dlog4j.configuration=file:$INFRA_DIR/kafka/tools-log4j.properties")
  fi
  JAVA_CMD=("$java" "${opts[@]}" -Djava.awt.headless=true -cp "$KAFKA_LIBS/*")
}

voters() {
  local i out=()
  for i in 1 2 3; do out+=("$i@$BIND_HOST:${KAFKA_CONTROLLER_PORTS[i-1]}"); done
  (IFS=,; printf '%s' "${out[*]}")
}

new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && { printf '%s' "$id"; return 0; }
  done
}

# Formats a node's metadata log once, with the topology's one cluster id.
format_node() {
  local n=$1 home data
  home=$(node_home "$n"); data="$home/data"
  [[ -f $data/meta.properties ]] && return 0
  mkdir -p "$data"
  [[ -z $(ls -A "$data") ]] || die "$data has data but no meta.properties; remove $home to start afresh"
  java_cmd tool
  "${JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$(cat "$CLUSTER_DIR/kafka.cluster.id")" -c "$(node_props "$n")" \
    >>"$(node_log "$n")" 2>&1 || fail_with_log "$(node_log "$n")" "kafka-storage format of node $n failed"
}

kafka_ready() { grep -q 'Kafka Server started' "$1" 2>/dev/null && port_open "$2"; }

svc_up() {
  svc_install
  ensure_dirs "$CLUSTER_DIR"
  take_lock
  local n pid t0 started=() port
  t0=$(now_ms)
  [[ -s $CLUSTER_DIR/kafka.cluster.id ]] || new_cluster_id >"$CLUSTER_DIR/kafka.cluster.id"
  for n in 1 2 3; do
    if pid=$(our_pid "kafka-$n" "$(node_pattern "$n")"); then continue; fi
    # Variable names for require_free_ports' message.
    NODE_PORT=${KAFKA_PORTS[n-1]} NODE_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORTS[n-1]}
    SERVICE="kafka-$n" require_free_ports NODE_PORT NODE_CONTROLLER_PORT
    mkdir -p "$(node_home "$n")"
    render_template "$INFRA_DIR/kafka/cluster/server.properties.in" "$(node_props "$n")" \
      "NODE_ID=$n" "VOTERS=$(voters)" "PORT=$NODE_PORT" "CONTROLLER_PORT=$NODE_CONTROLLER_PORT" \
      "DATA_DIR=$(node_home "$n")/data"
    rotate_log "$(node_log "$n")"
    started+=("$n")
  done
  if (( ${#started[@]} == 0 )); then
    log "already running: 3 brokers on $BIND_HOST:${KAFKA_PORTS[*]}"
    return 0
  fi
  # Formatting costs a JVM start each: done side by side.
  local jobs=()
  for n in "${started[@]}"; do format_node "$n" & jobs+=($!); done
  for pid in "${jobs[@]}"; do wait "$pid" || die "formatting a node's storage failed (see $LOG_DIR/kafka-*.log)"; done
  java_cmd broker
  for n in "${started[@]}"; do
    launch_detached "$(pid_file "kafka-$n")" "$(node_log "$n")" "${JAVA_CMD[@]}" kafka.Kafka "$(node_props "$n")"
  done
  # A node finishes starting only once a quorum of controllers elected a
  # leader, so all of them are waited for together.
  for n in "${started[@]}"; do
    port=${KAFKA_PORTS[n-1]}
    SERVICE="kafka-$n" wait_healthy "$KAFKA_START_TIMEOUT" "$(pid_file "kafka-$n")" "$(node_log "$n")" kafka_ready "$(node_log "$n")" "$port"
  done
  log "up: brokers ${started[*]} of 1-3 started on $BIND_HOST:${KAFKA_PORTS[*]} (controllers ${KAFKA_CONTROLLER_PORTS[*]}) in $(elapsed_s "$t0")s"
}

svc_down() {
  ensure_dirs
  take_lock
  local n
  # Side by side: a node waiting for a controller quorum that is already gone
  # would otherwise sit out its whole grace period.
  for n in 3 2 1; do SERVICE="kafka-$n" stop_service "kafka-$n" "$(node_pattern "$n")" 30 & done
  wait
}

svc_status() {
  local n pid rc=0 port
  for n in 1 2 3; do
    port=${KAFKA_PORTS[n-1]}
    if pid=$(our_pid "kafka-$n" "$(node_pattern "$n")") && port_open "$port"; then
      printf '%-11s up         %-16s pid %s rss %s MiB\n' "kafka-$n" "$BIND_HOST:$port" "$pid" "$(rss_mib "$pid")"
    else
      printf '%-11s down       %s\n' "kafka-$n" "$BIND_HOST:$port"
      rc=1
    fi
  done
  return "$rc"
}

service_main "$@"
