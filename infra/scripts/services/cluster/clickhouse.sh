#!/usr/bin/env bash
# ClickHouse for the local cluster topology: four Debian clickhouse-server 18.16
# processes = 2 shards x 2 replicas, coordinated by the cluster topology's
# ZooKeeper (services/cluster/zookeeper.sh, start it first). Node N (1..4)
# listens on HTTP 18122+N, TCP 18999+N, interserver HTTP 19008+N and keeps its
# data in var/cluster/clickhouse-N; nodes 1, 2 form shard 01, nodes 3, 4 shard 02
# of the cluster `recsys_cluster` (infra/clickhouse/cluster/node.xml.in).
# Usage: clickhouse.sh install|up|down|status   (normally via
#        infra/scripts/services.sh --topology cluster)
# `up` starts only the nodes that are not running, so it also restarts one
# node that was killed; status exits 1 if any node is down.
set -euo pipefail
SERVICE=cluster-clickhouse
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CLUSTER_NAME="${CLICKHOUSE_CLUSTER_NAME:-recsys_cluster}"
HTTP_BASE="${CLUSTER_CLICKHOUSE_HTTP_BASE:-18123}"
TCP_BASE="${CLUSTER_CLICKHOUSE_TCP_BASE:-19000}"
INTERSERVER_BASE="${CLUSTER_CLICKHOUSE_INTERSERVER_BASE:-19009}"
ZOOKEEPER_PORT="${ZOOKEEPER_PORT:-2181}"
NODES=(1 2 3 4)
CH_BIN=/usr/sbin/clickhouse-server
CH_START_TIMEOUT="${CLICKHOUSE_START_TIMEOUT:-60}"

node_name() { printf 'cluster-clickhouse-%s' "$1"; }
node_home() { printf '%s/cluster/clickhouse-%s' "$VAR_DIR" "$1"; }
node_conf() { printf '%s/config.xml' "$(node_home "$1")"; }
# Our config path in the command line tells each node apart from the
# single-node server and from another checkout's cluster.
node_pattern() { printf -- '--config-file=%s' "$(node_conf "$1")"; }
node_http() { printf '%s' $(( HTTP_BASE + $1 - 1 )); }
node_tcp() { printf '%s' $(( TCP_BASE + $1 - 1 )); }
node_interserver() { printf '%s' $(( INTERSERVER_BASE + $1 - 1 )); }
node_shard() { printf '0%s' $(( ($1 + 1) / 2 )); }
node_logs() {
  local n; n=$(node_name "$1")
  printf '%s/%s.err.log:%s/%s.stdout.log:%s/%s.log' "$LOG_DIR" "$n" "$LOG_DIR" "$n" "$LOG_DIR" "$n"
}

ch_ping() {
  [[ $(curl -sS --max-time 2 "http://$BIND_HOST:$1/ping" 2>/dev/null) == "Ok." ]]
}

# shellcheck disable=SC2016 # expanded by the inner bash
# As in zookeeper.sh: `srvr` names a mode only when the server serves requests.
zk_ok() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf srvr >&3; cat <&3' "$BIND_HOST" "$ZOOKEEPER_PORT" 2>/dev/null | grep -q '^Mode: '
}

svc_install() {
  local pkgs=()
  [[ -x $CH_BIN ]] || pkgs+=(clickhouse-server)
  command -v clickhouse-client >/dev/null 2>&1 || pkgs+=(clickhouse-client)
  command -v curl >/dev/null 2>&1 || pkgs+=(curl)
  (( ${#pkgs[@]} )) && apt_ensure "${pkgs[@]}"
  return 0
}

render_node_config() {
  local n=$1 home
  home=$(node_home "$n")
  mkdir -p "$home/data"
  render_template "$INFRA_DIR/clickhouse/cluster/node.xml.in" "$(node_conf "$n")" \
    "NODE=$n" "LOG_DIR=$LOG_DIR" "DATA_DIR=$home/data" "CONF_DIR=$home" \
    "HTTP_PORT=$(node_http "$n")" "TCP_PORT=$(node_tcp "$n")" "INTERSERVER_PORT=$(node_interserver "$n")" \
    "SHARD=$(node_shard "$n")" "CLUSTER=$CLUSTER_NAME" "ZK_PORT=$ZOOKEEPER_PORT" \
    "TCP_PORT_1=$(node_tcp 1)" "TCP_PORT_2=$(node_tcp 2)" "TCP_PORT_3=$(node_tcp 3)" "TCP_PORT_4=$(node_tcp 4)"
  cp -f "$INFRA_DIR/clickhouse/users.xml" "$home/users.xml"
}

svc_up() {
  svc_install
  ensure_dirs "$VAR_DIR/cluster"
  take_lock
  zk_ok || die "ZooKeeper does not answer on $BIND_HOST:$ZOOKEEPER_PORT; start it first: bash infra/scripts/services.sh up --topology cluster zookeeper"
  local n pid t0 name started=() http tcp inter
  t0=$(now_ms)
  for n in "${NODES[@]}"; do
    name=$(node_name "$n")
    if pid=$(our_pid "$name" "$(node_pattern "$n")"); then
      log "node $n already running (pid $pid)"
      continue
    fi
    http=$(node_http "$n"); tcp=$(node_tcp "$n"); inter=$(node_interserver "$n")
    # shellcheck disable=SC2034 # read by require_free_ports through their names
    NODE_HTTP=$http NODE_TCP=$tcp NODE_INTERSERVER=$inter
    SERVICE=$name require_free_ports NODE_HTTP NODE_TCP NODE_INTERSERVER
    render_node_config "$n"
    rotate_log "$LOG_DIR/$name.log" "$LOG_DIR/$name.err.log" "$LOG_DIR/$name.stdout.log"
    # Foreground mode under launch_detached, as the single-node script does.
    launch_detached "$(pid_file "$name")" "$LOG_DIR/$name.stdout.log" "$CH_BIN" "$(node_pattern "$n")"
    SERVICE=$name save_ports "$http" "$tcp" "$inter"
    started+=("$n")
  done
  # Started together, waited for together: the four start in parallel.
  for n in "${NODES[@]}"; do
    name=$(node_name "$n")
    SERVICE=$name wait_healthy "$CH_START_TIMEOUT" "$(pid_file "$name")" "$(node_logs "$n")" ch_ping "$(node_http "$n")"
  done
  for n in "${started[@]}"; do
    name=$(node_name "$n")
    pid=$(our_pid "$name" "$(node_pattern "$n")") || fail_with_log "$(node_logs "$n")" "node $n answers /ping but its pid file is missing or stale"
    log "node $n (shard $(node_shard "$n"), replica ch$n) up on $BIND_HOST:$(node_http "$n") (http), :$(node_tcp "$n") (tcp) (pid $pid)"
  done
  if (( ${#started[@]} )); then
    log "started ${#started[@]} node(s) (${started[*]}) in $(elapsed_s "$t0")s; cluster $CLUSTER_NAME"
  fi
}

svc_down() {
  ensure_dirs
  take_lock
  local n pids=() rc=0
  # In parallel: each takes ~2 s after SIGTERM.
  for n in "${NODES[@]}"; do
    SERVICE=$(node_name "$n") stop_service "$(node_name "$n")" "$(node_pattern "$n")" 30 &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  return "$rc"
}

svc_status() {
  local n pid http rc=0 name
  for n in "${NODES[@]}"; do
    name=$(node_name "$n"); http=$(node_http "$n")
    if pid=$(our_pid "$name" "$(node_pattern "$n")"); then
      if ch_ping "$http"; then
        printf '%-11s up         %-16s pid %s (shard %s, replica ch%s)\n' "clickhouse-$n" "$BIND_HOST:$http" "$pid" "$(node_shard "$n")" "$n"
        continue
      fi
      printf '%-11s unhealthy  %-16s pid %s (/ping failed)\n' "clickhouse-$n" "$BIND_HOST:$http" "$pid"
    elif port_open "$http"; then
      printf '%-11s foreign    %-16s (port in use, not started by services.sh)\n' "clickhouse-$n" "$BIND_HOST:$http"
    else
      printf '%-11s down       %s\n' "clickhouse-$n" "$BIND_HOST:$http"
    fi
    rc=1
  done
  return "$rc"
}

service_main "$@"
