#!/usr/bin/env bash
# Redis Cluster for the cluster topology: six Debian redis-server processes
# (cluster-enabled) on 127.0.0.1:17001-17006, joined by `redis-cli --cluster
# create --cluster-replicas 1` into 3 primaries with one replica each. No
# persistence (dev/test data), but each node keeps its nodes.conf under
# var/cluster/redis-<port>, so a node restarted after a kill rejoins as itself.
# Usage: redis.sh install|up|down|status   (normally via services.sh --topology cluster)
# `up` is idempotent: it starts the nodes that are not running and creates the
# cluster only if the nodes do not form one yet.
set -euo pipefail
SERVICE=redis
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

read -r -a REDIS_PORTS <<<"${REDIS_CLUSTER_PORTS:-17001 17002 17003 17004 17005 17006}"
REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-60}"
(( ${#REDIS_PORTS[@]} == 6 )) || die "REDIS_CLUSTER_PORTS needs six ports (3 primaries + 3 replicas)"

node_dir() { printf '%s/redis-%s' "$CLUSTER_DIR" "$1"; }
node_log() { printf '%s/redis-%s.log' "$LOG_DIR" "$1"; }
# redis-server's process title is "redis-server 127.0.0.1:PORT [cluster]".
node_pattern() { printf 'redis-server %s:%s' "$BIND_HOST" "$1"; }
cli() { local p=$1; shift; redis-cli -h "$BIND_HOST" -p "$p" "$@"; }
redis_ping() { [[ $(cli "$1" ping 2>/dev/null) == PONG ]]; }
cluster_ok() { cli "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }
known_nodes() { cli "$1" cluster info 2>/dev/null | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p'; }

svc_install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then return 0; fi
  apt_ensure redis-server redis-tools
}

start_node() {
  local port=$1 dir
  dir=$(node_dir "$port")
  mkdir -p "$dir"
  rotate_log "$(node_log "$port")"
  # cluster-node-timeout 3 s: a killed primary is failed over within seconds
  # (the fault tests wait for it); the stock 15 s would only slow them.
  redis-server --port "$port" --bind "$BIND_HOST" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 3000 \
    --save '' --appendonly no \
    --daemonize yes --pidfile "$(pid_file "redis-$port")" \
    --dir "$dir" --logfile "$(node_log "$port")" 9>&- \
    || fail_with_log "$(node_log "$port")" "redis-server on port $port failed to start"
}

svc_up() {
  svc_install
  ensure_dirs "$CLUSTER_DIR"
  take_lock
  local port t0 started=() addrs=()
  t0=$(now_ms)
  for port in "${REDIS_PORTS[@]}"; do
    our_pid "redis-$port" "$(node_pattern "$port")" >/dev/null && continue
    NODE_PORT=$port SERVICE="redis-$port" require_free_ports NODE_PORT
    start_node "$port"
    started+=("$port")
  done
  for port in "${started[@]}"; do
    SERVICE="redis-$port" wait_healthy "$REDIS_START_TIMEOUT" "$(pid_file "redis-$port")" "$(node_log "$port")" redis_ping "$port"
  done
  # A node that only knows itself has never joined: the cluster is created
  # once, on fresh nodes. Nodes restarted after a fault know the others from
  # nodes.conf and rejoin by themselves.
  if [[ $(known_nodes "${REDIS_PORTS[0]}") == 1 ]]; then
    for port in "${REDIS_PORTS[@]}"; do addrs+=("$BIND_HOST:$port"); done
    log "creating the cluster: 3 primaries + 3 replicas"
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >>"$LOG_DIR/redis-cluster-create.log" 2>&1 \
      || fail_with_log "$LOG_DIR/redis-cluster-create.log" "redis-cli --cluster create failed"
  fi
  # No process of its own to watch: a pid file that never exists.
  SERVICE=redis-cluster wait_healthy "$REDIS_START_TIMEOUT" "$RUN_DIR/redis-cluster.none" "$LOG_DIR/redis-cluster-create.log" all_ok
  if (( ${#started[@]} == 0 )); then
    log "already running: cluster on $BIND_HOST:${REDIS_PORTS[*]}"
  else
    log "up: nodes ${started[*]} started, cluster_state ok on $BIND_HOST:${REDIS_PORTS[*]} in $(elapsed_s "$t0")s"
  fi
}

# Every node reports the cluster healthy (all slots served, views agree).
all_ok() {
  local port
  for port in "${REDIS_PORTS[@]}"; do cluster_ok "$port" || return 1; done
}

svc_down() {
  ensure_dirs
  take_lock
  local port
  for port in "${REDIS_PORTS[@]}"; do SERVICE="redis-$port" stop_service "redis-$port" "$(node_pattern "$port")" 20; done
}

svc_status() {
  local port pid rc=0 role
  for port in "${REDIS_PORTS[@]}"; do
    if pid=$(our_pid "redis-$port" "$(node_pattern "$port")") && cluster_ok "$port"; then
      role=$(cli "$port" role 2>/dev/null | head -n1)
      printf '%-11s up         %-16s pid %s %s rss %s MiB\n' "redis-$port" "$BIND_HOST:$port" "$pid" "$role" "$(rss_mib "$pid")"
    else
      printf '%-11s down       %s\n' "redis-$port" "$BIND_HOST:$port"
      rc=1
    fi
  done
  return "$rc"
}

service_main "$@"
