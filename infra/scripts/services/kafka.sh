#!/usr/bin/env bash
# Kafka for local dev/CI: Apache Kafka 3.9.1, one node in KRaft combined mode
# (broker + controller, no ZooKeeper), run on the machine's Java from jars that
# Maven resolves from Maven Central (infra/kafka/pom.xml).
# Kafka 3.9 rather than 4.x: 4.0 dropped the old protocol versions that
# kafkajs 2.2.4 still speaks.
# Usage: kafka.sh install|up|down|status   (normally via infra/scripts/services.sh)
#        kafka.sh run-class <main class> [args...]   (Kafka CLI tools, see below)
set -euo pipefail
SERVICE=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Keep in step with <kafka.version> in infra/kafka/pom.xml.
KAFKA_VERSION=3.9.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_POM="$INFRA_DIR/kafka/pom.xml"
KAFKA_CACHE="$RECSYS_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_CACHE/libs"
# Holds the pom's checksum: an edited pom means a different jar set.
KAFKA_STAMP="$KAFKA_CACHE/libs.pom.sha256"
KAFKA_HOME="$VAR_DIR/kafka"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_LOG="$LOG_DIR/kafka.log"
KAFKA_PIDF="$(pid_file kafka)"
# Our server.properties path in the command line tells our broker apart from
# any other Java process or another checkout's broker.
KAFKA_PATTERN="kafka.Kafka $KAFKA_PROPS"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
# A dev broker needs little heap; the JVM default (1/4 of RAM) would take 6 GiB.
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"

# --- install -----------------------------------------------------------------

# Major version of the Java runtime behind the given java binary.
java_major() {
  local home release v
  home=$(dirname "$(dirname "$(readlink -f "$1")")")
  release="$home/release"
  if [[ -r $release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
  else
    v=$("$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  fi
  printf '%s' "${v:-0}"
}

# Kafka 3.9 runs on Java 11 to 23; prefer what the environment points at, then
# the distro's 17 and 21.
find_java() {
  local j m
  for j in "${KAFKA_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
           /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-21-openjdk-*/bin/java; do
    [[ -n $j && -x $j ]] || continue
    m=$(java_major "$j")
    if (( m >= 11 && m <= 23 )); then printf '%s' "$j"; return 0; fi
  done
  return 1
}

pom_sum() { sha256sum "$KAFKA_POM" | cut -d' ' -f1; }

libs_installed() {
  [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar && -f $KAFKA_STAMP ]] \
    && [[ $(cat "$KAFKA_STAMP") == "$(pom_sum)" ]]
}

svc_install() {
  find_java >/dev/null || apt_ensure openjdk-17-jre-headless
  find_java >/dev/null || die "no Java 11-23 found (set KAFKA_JAVA to a java binary)"
  libs_installed && return 0
  command -v mvn >/dev/null 2>&1 || apt_ensure maven
  mkdir -p "$KAFKA_CACHE"
  # Subshell: the lock fd closes when it ends, so the broker started later
  # does not inherit it and hold the cache lock while it runs.
  (
    # Another checkout (or a parallel CI step) may be filling the same cache.
    exec 8>"$KAFKA_CACHE/.lock"
    flock -w 600 8 || die "timed out waiting for $KAFKA_CACHE/.lock"
    libs_installed || install_libs
  ) || exit 1
}

install_libs() {
  local t0 tmp mvn_log
  t0=$(now_ms)
  log "resolving kafka_2.13:$KAFKA_VERSION and dependencies from Maven Central into $KAFKA_LIBS"
  tmp=$(mktemp -d "$KAFKA_CACHE/libs.tmp.XXXXXX")
  mvn_log="$tmp.log"
  # RECSYS_MAVEN_REPO points Maven at another local repository (e.g. an empty
  # one, to time a cold install) without touching ~/.m2 settings.
  if ! mvn -B -q -f "$KAFKA_POM" \
      ${RECSYS_MAVEN_REPO:+"-Dmaven.repo.local=$RECSYS_MAVEN_REPO"} \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      >"$mvn_log" 2>&1 </dev/null; then
    rm -rf "$tmp"
    fail_with_log "$mvn_log" "mvn dependency:copy-dependencies failed"
  fi
  if [[ ! -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]]; then
    rm -rf "$tmp"
    die "mvn succeeded but kafka_2.13-$KAFKA_VERSION.jar is missing"
  fi
  # Swap in whole so an interrupted install never leaves a half-filled libs/.
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  rm -f "$mvn_log"
  pom_sum >"$KAFKA_STAMP"
  log "installed $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1)) in $(elapsed_s "$t0")s"
}

# --- run ---------------------------------------------------------------------

# Same format as Kafka's Uuid: 16 random bytes, URL-safe base64 without
# padding. Kafka rejects ids starting with '-' (they read as CLI flags). Made
# here rather than with `StorageTool random-uuid`, which costs a JVM start.
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && { printf '%s' "$id"; return 0; }
  done
}

# Sets KAFKA_JAVA_CMD to the java command line, without the main class, for
# the broker (`build_java_cmd broker`) or a CLI tool (`build_java_cmd tool`).
# An array rather than a function because the broker is exec'd by a separate
# bash under setsid.
build_java_cmd() {
  local java opts=() extra=()
  java=$(find_java) || die "no Java 11-23 found (set KAFKA_JAVA to a java binary)"
  if [[ $1 == broker ]]; then
    read -r -a opts <<<"$KAFKA_HEAP_OPTS"
    # GC flags as in Kafka's kafka-run-class.sh.
    opts+=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
      -XX:+ExitOnOutOfMemoryError
      "-Dlog4j.configuration=file:$INFRA_DIR/kafka/log4j.properties")
    if [[ -n ${KAFKA_OPTS:-} ]]; then read -r -a extra <<<"$KAFKA_OPTS"; fi
  else
    opts=(-Xmx512m "-Dlog4j.configuration=file:$INFRA_DIR/kafka/tools-log4j.properties")
  fi
  KAFKA_JAVA_CMD=("$java" "${opts[@]}" -Djava.awt.headless=true "${extra[@]}"
    -cp "$KAFKA_LIBS/*")
}

# Formats the metadata log once. Never reformats: that would orphan the data.
format_storage() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  mkdir -p "$KAFKA_DATA"
  if [[ -n $(ls -A "$KAFKA_DATA") ]]; then
    die "$KAFKA_DATA has data but no meta.properties; remove $KAFKA_HOME to start afresh"
  fi
  local id_file="$KAFKA_HOME/cluster.id" id
  [[ -s $id_file ]] || new_cluster_id >"$id_file"
  id=$(cat "$id_file")
  log "formatting storage (cluster id $id)"
  build_java_cmd tool
  "${KAFKA_JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$id" -c "$KAFKA_PROPS" >>"$KAFKA_LOG" 2>&1 \
    || fail_with_log "$KAFKA_LOG" "kafka-storage format failed"
}

# Ready = the broker logged that start-up finished (in KRaft that is after it
# has been unfenced by the controller) and the client port accepts connections.
kafka_ready() {
  grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null && port_open "$1"
}

svc_up() {
  svc_install
  ensure_dirs "$KAFKA_HOME"
  take_lock
  local pid t0 port
  if pid=$(our_pid kafka "$KAFKA_PATTERN"); then
    port=$(saved_port kafka); port=${port:-$KAFKA_PORT}
    # Normally returns at once; waits if an interrupted `up` left it starting.
    wait_healthy "$KAFKA_START_TIMEOUT" "$KAFKA_PIDF" "$KAFKA_LOG" kafka_ready "$port"
    log "already running on $BIND_HOST:$port (pid $pid)"
    warn_port_change KAFKA_PORT "$port"
    warn_port_change KAFKA_CONTROLLER_PORT "$(saved_port kafka 2)"
    return 0
  fi
  require_free_ports KAFKA_PORT KAFKA_CONTROLLER_PORT
  render_template "$INFRA_DIR/kafka/server.properties.in" "$KAFKA_PROPS" \
    "PORT=$KAFKA_PORT" "CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT" "DATA_DIR=$KAFKA_DATA"
  rotate_log "$KAFKA_LOG"
  t0=$(now_ms)
  format_storage
  build_java_cmd broker
  launch_detached "$KAFKA_PIDF" "$KAFKA_LOG" "${KAFKA_JAVA_CMD[@]}" kafka.Kafka "$KAFKA_PROPS"
  save_ports "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
  wait_healthy "$KAFKA_START_TIMEOUT" "$KAFKA_PIDF" "$KAFKA_LOG" kafka_ready "$KAFKA_PORT"
  pid=$(our_pid kafka "$KAFKA_PATTERN") || fail_with_log "$KAFKA_LOG" "broker answers but pid file $KAFKA_PIDF is missing or stale"
  log "up on $BIND_HOST:$KAFKA_PORT (pid $pid), started in $(elapsed_s "$t0")s"
}

svc_down() {
  ensure_dirs
  take_lock
  # A single-node KRaft broker normally stops in a few seconds.
  stop_service kafka "$KAFKA_PATTERN" 30
}

svc_status() {
  local pid port
  if pid=$(our_pid kafka "$KAFKA_PATTERN"); then
    port=$(saved_port kafka); port=${port:-$KAFKA_PORT}
    if port_open "$port"; then
      printf '%-11s up         %-16s pid %s\n' kafka "$BIND_HOST:$port" "$pid"
      return 0
    fi
    printf '%-11s unhealthy  %-16s pid %s (port closed)\n' kafka "$BIND_HOST:$port" "$pid"
    return 1
  fi
  if port_open "$KAFKA_PORT"; then
    printf '%-11s foreign    %-16s (port in use, not started by services.sh)\n' kafka "$BIND_HOST:$KAFKA_PORT"
  else
    printf '%-11s down       %s\n' kafka "$BIND_HOST:$KAFKA_PORT"
  fi
  return 1
}

# Runs a Kafka CLI class on the same classpath, e.g.
#   kafka.sh run-class org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#   kafka.sh run-class kafka.tools.ConsoleProducer --bootstrap-server 127.0.0.1:9092 --topic t
#   kafka.sh run-class org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server 127.0.0.1:9092 --topic t --from-beginning
svc_run_class() {
  (( $# )) || die "usage: $0 run-class <main class> [args...]"
  svc_install
  ensure_dirs
  build_java_cmd tool
  exec "${KAFKA_JAVA_CMD[@]}" "$@"
}

if [[ ${1:-} == run-class ]]; then
  shift
  svc_run_class "$@"
fi
service_main "$@"
