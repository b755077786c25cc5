#!/usr/bin/env bash
# N `recsys serve` replicas for the cluster topology, on 127.0.0.1:18081..1808N
# behind haproxy.sh's balancer (RECSYS_SERVE_REPLICAS, default 2). They share
# one registry folder (RECSYS_REGISTRY or --registry): promotions are
# compare-and-swap commits of alias files, safe across processes, and every
# replica hot-reloads on a promote (registry events on Redis, else polling).
# Usage: serve-replicas.sh up|down|status [recsys serve flags...]
#   e.g. RECSYS_REGISTRY=/shared/registry serve-replicas.sh up --ranker ml100k-din
# Each replica gets `--port 1808i` after the flags given; its log is
# var/cluster/log/serve-i.log. `up` starts the replicas that are not running
# and waits until each answers /healthz (/readyz needs a servable model).
set -euo pipefail
SERVICE=serve
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

RECSYS_SERVE_REPLICAS="${RECSYS_SERVE_REPLICAS:-2}"
SERVE_BASE_PORT="${SERVE_BASE_PORT:-18080}"
SERVE_START_TIMEOUT="${SERVE_START_TIMEOUT:-120}"
[[ $RECSYS_SERVE_REPLICAS =~ ^[1-7]$ ]] || die "RECSYS_SERVE_REPLICAS=$RECSYS_SERVE_REPLICAS: expected 1..7 (ports 18081..18087)"

replica_port() { printf '%s' $((SERVE_BASE_PORT + $1)); }
replica_log() { printf '%s/serve-%s.log' "$LOG_DIR" "$1"; }
healthy() { curl -fsS -o /dev/null --max-time 2 "http://$BIND_HOST:$1/healthz"; }
ready() { curl -fsS -o /dev/null --max-time 2 "http://$BIND_HOST:$1/readyz"; }

svc_up() {
  ensure_dirs
  take_lock
  local i t0 port started=()
  t0=$(now_ms)
  for (( i = 1; i <= RECSYS_SERVE_REPLICAS; i++ )); do
    port=$(replica_port "$i")
    our_pid "serve-$i" "--port $port" >/dev/null && continue
    REPLICA_PORT=$port SERVICE="serve-$i" require_free_ports REPLICA_PORT
    rotate_log "$(replica_log "$i")"
    (cd "$REPO_ROOT" && launch_detached "$(pid_file "serve-$i")" "$(replica_log "$i")" \
      node "$REPO_ROOT/bin/recsys.js" serve "$@" --port "$port")
    started+=("$i")
  done
  for i in "${started[@]}"; do
    SERVICE="serve-$i" wait_healthy "$SERVE_START_TIMEOUT" "$(pid_file "serve-$i")" "$(replica_log "$i")" healthy "$(replica_port "$i")"
  done
  log "${#started[@]} replica(s) started (${RECSYS_SERVE_REPLICAS} wanted) in $(elapsed_s "$t0")s"
  svc_status || true
}

svc_down() {
  ensure_dirs
  take_lock
  local i
  # SIGTERM: each replica drains (readiness 503 first, so haproxy stops routing to it).
  for (( i = 1; i <= 7; i++ )); do SERVICE="serve-$i" stop_service "serve-$i" "--port $(replica_port "$i")" 30; done
}

svc_status() {
  local i port pid rc=0
  for (( i = 1; i <= RECSYS_SERVE_REPLICAS; i++ )); do
    port=$(replica_port "$i")
    if pid=$(our_pid "serve-$i" "--port $port"); then
      if ready "$port"; then printf '%-11s ready      %-16s pid %s rss %s MiB\n' "serve-$i" "$BIND_HOST:$port" "$pid" "$(rss_mib "$pid")"
      else printf '%-11s not ready  %-16s pid %s\n' "serve-$i" "$BIND_HOST:$port" "$pid"; rc=1; fi
    else
      printf '%-11s down       %s\n' "serve-$i" "$BIND_HOST:$port"; rc=1
    fi
  done
  return "$rc"
}

verb=${1:-}
shift || true
case $verb in
  up) svc_up "$@" ;;
  down) svc_down ;;
  status) svc_status ;;
  *) die "usage: $0 up|down|status [recsys serve flags...]" ;;
esac
