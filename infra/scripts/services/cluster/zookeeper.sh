#!/usr/bin/env bash
# ZooKeeper for the local cluster topology: one standalone Apache ZooKeeper
# 3.8.4 server on 127.0.0.1:2181, run on the machine's Java from jars that
# Maven resolves from Maven Central (infra/zookeeper/pom.xml), cached like
# Kafka's. It coordinates ClickHouse's ReplicatedMergeTree tables and ON
# CLUSTER DDL (services/cluster/clickhouse.sh). Standalone, not a 3-node
# ensemble: on one machine an ensemble adds processes without adding any
# failure independence; ZooKeeper itself is not among the faults tested.
# Usage: zookeeper.sh install|up|down|status   (normally via
#        infra/scripts/services.sh --topology cluster)
set -euo pipefail
SERVICE=cluster-zookeeper
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# Keep in step with <zookeeper.version> in infra/zookeeper/pom.xml.
ZK_VERSION=3.8.4
ZOOKEEPER_PORT="${ZOOKEEPER_PORT:-2181}"
ZK_POM="$INFRA_DIR/zookeeper/pom.xml"
ZK_CACHE="$RECSYS_CACHE/zookeeper-$ZK_VERSION"
ZK_LIBS="$ZK_CACHE/libs"
# Holds the pom's checksum: an edited pom means a different jar set.
ZK_STAMP="$ZK_CACHE/libs.pom.sha256"
ZK_HOME="$VAR_DIR/cluster/zookeeper"
ZK_DATA="$ZK_HOME/data"
ZK_CONF="$ZK_HOME/zoo.cfg"
ZK_LOG="$LOG_DIR/cluster-zookeeper.log"
ZK_PIDF="$(pid_file cluster-zookeeper)"
# Our zoo.cfg path in the command line tells our server apart from any other
# Java process (Kafka, another checkout's ZooKeeper).
ZK_PATTERN="QuorumPeerMain $ZK_CONF"
ZK_START_TIMEOUT="${ZOOKEEPER_START_TIMEOUT:-60}"
# A few hundred znodes for a dev topology; the JVM default (1/4 of RAM) would take 6 GiB.
ZK_HEAP_OPTS="${ZOOKEEPER_HEAP_OPTS:--Xms64m -Xmx256m}"

# --- install -----------------------------------------------------------------

# Major version of the Java runtime behind the given java binary.
java_major() {
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}

# ZooKeeper 3.8 runs on Java 8 and later; prefer what the environment points
# at, then the distro's 17 (the one Kafka's script installs).
find_java() {
  local j m
  for j in "${ZOOKEEPER_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
           /usr/lib/jvm/java-17-openjdk-*/bin/java; do
    [[ -n $j && -x $j ]] || continue
    m=$(java_major "$j")
    if (( ${m:-0} >= 11 )); then printf '%s' "$j"; return 0; fi
  done
  return 1
}

pom_sum() { sha256sum "$ZK_POM" | cut -d' ' -f1; }

libs_installed() {
  [[ -f $ZK_LIBS/zookeeper-$ZK_VERSION.jar && -f $ZK_STAMP ]] \
    && [[ $(cat "$ZK_STAMP") == "$(pom_sum)" ]]
}

svc_install() {
  find_java >/dev/null || apt_ensure openjdk-17-jre-headless
  find_java >/dev/null || die "no Java 11 or later found (set ZOOKEEPER_JAVA to a java binary)"
  libs_installed && return 0
  command -v mvn >/dev/null 2>&1 || apt_ensure maven
  mkdir -p "$ZK_CACHE"
  # Subshell: the lock fd closes when it ends, so the server started later
  # does not inherit it and hold the cache lock while it runs.
  (
    exec 8>"$ZK_CACHE/.lock"
    flock -w 600 8 || die "timed out waiting for $ZK_CACHE/.lock"
    libs_installed || install_libs
  ) || exit 1
}

install_libs() {
  local t0 tmp mvn_log
  t0=$(now_ms)
  log "resolving zookeeper:$ZK_VERSION and dependencies from Maven Central into $ZK_LIBS"
  tmp=$(mktemp -d "$ZK_CACHE/libs.tmp.XXXXXX")
  mvn_log="$tmp.log"
  if ! mvn -B -q -f "$ZK_POM" \
      ${RECSYS_MAVEN_REPO:+"-Dmaven.repo.local=$RECSYS_MAVEN_REPO"} \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      >"$mvn_log" 2>&1 </dev/null; then
    rm -rf "$tmp"
    fail_with_log "$mvn_log" "mvn dependency:copy-dependencies failed"
  fi
  if [[ ! -f $tmp/zookeeper-$ZK_VERSION.jar ]]; then
    rm -rf "$tmp"
    die "mvn succeeded but zookeeper-$ZK_VERSION.jar is missing"
  fi
  # Swap in whole so an interrupted install never leaves a half-filled libs/.
  rm -rf "$ZK_LIBS"
  mv "$tmp" "$ZK_LIBS"
  rm -f "$mvn_log"
  pom_sum >"$ZK_STAMP"
  log "installed $(find "$ZK_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$ZK_LIBS" | cut -f1)) in $(elapsed_s "$t0")s"
}

# --- run ---------------------------------------------------------------------

# `srvr` names the server's mode once it serves requests. Not `ruok`: the
# connection factory answers `imok` even when the server itself failed to start.
# shellcheck disable=SC2016 # expanded by the inner bash
zk_ok() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf srvr >&3; cat <&3' "$BIND_HOST" "$1" 2>/dev/null | grep -q '^Mode: '
}

svc_up() {
  svc_install
  ensure_dirs "$ZK_DATA"
  take_lock
  local pid t0 port java heap=()
  if pid=$(our_pid cluster-zookeeper "$ZK_PATTERN"); then
    port=$(saved_port cluster-zookeeper); port=${port:-$ZOOKEEPER_PORT}
    wait_healthy "$ZK_START_TIMEOUT" "$ZK_PIDF" "$ZK_LOG" zk_ok "$port"
    log "already running on $BIND_HOST:$port (pid $pid)"
    warn_port_change ZOOKEEPER_PORT "$port"
    return 0
  fi
  require_free_ports ZOOKEEPER_PORT
  render_template "$INFRA_DIR/zookeeper/zoo.cfg.in" "$ZK_CONF" "PORT=$ZOOKEEPER_PORT" "DATA_DIR=$ZK_DATA"
  rotate_log "$ZK_LOG"
  java=$(find_java) || die "no Java 11 or later found (set ZOOKEEPER_JAVA to a java binary)"
  read -r -a heap <<<"$ZK_HEAP_OPTS"
  t0=$(now_ms)
  launch_detached "$ZK_PIDF" "$ZK_LOG" "$java" "${heap[@]}" -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true "-Dlogback.configurationFile=$INFRA_DIR/zookeeper/logback.xml" \
    -Dzookeeper.admin.enableServer=false -cp "$ZK_LIBS/*" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZK_CONF"
  save_ports "$ZOOKEEPER_PORT"
  wait_healthy "$ZK_START_TIMEOUT" "$ZK_PIDF" "$ZK_LOG" zk_ok "$ZOOKEEPER_PORT"
  pid=$(our_pid cluster-zookeeper "$ZK_PATTERN") || fail_with_log "$ZK_LOG" "answers srvr but pid file $ZK_PIDF is missing or stale"
  log "up on $BIND_HOST:$ZOOKEEPER_PORT (pid $pid), started in $(elapsed_s "$t0")s"
}

svc_down() {
  ensure_dirs
  take_lock
  stop_service cluster-zookeeper "$ZK_PATTERN" 20
}

svc_status() {
  local pid port
  if pid=$(our_pid cluster-zookeeper "$ZK_PATTERN"); then
    port=$(saved_port cluster-zookeeper); port=${port:-$ZOOKEEPER_PORT}
    if zk_ok "$port"; then
      printf '%-11s up         %-16s pid %s\n' zookeeper "$BIND_HOST:$port" "$pid"
      return 0
    fi
    printf '%-11s unhealthy  %-16s pid %s (srvr: not serving)\n' zookeeper "$BIND_HOST:$port" "$pid"
    return 1
  fi
  if port_open "$ZOOKEEPER_PORT"; then
    printf '%-11s foreign    %-16s (port in use, not started by services.sh)\n' zookeeper "$BIND_HOST:$ZOOKEEPER_PORT"
  else
    printf '%-11s down       %s\n' zookeeper "$BIND_HOST:$ZOOKEEPER_PORT"
  fi
  return 1
}

service_main "$@"
