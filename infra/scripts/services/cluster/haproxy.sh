#!/usr/bin/env bash
# The load balancer of the cluster topology: Debian's haproxy on
# 127.0.0.1:18080 in front of N serving replicas on 127.0.0.1:18081..1808N
# (RECSYS_SERVE_REPLICAS, default 2; start them with
# infra/scripts/serve-replicas.sh). A replica is in rotation while its
# /readyz answers 200; a request whose connection to a replica fails is
# retried on another one (retries + option redispatch), so a killed replica
# costs clients no failed request once haproxy has marked it down.
# Usage: haproxy.sh install|up|down|status   (normally via services.sh --topology cluster)
# `up` needs no replica to be running: haproxy starts, and answers 503 until
# one is ready.
set -euo pipefail
SERVICE=haproxy
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

HAPROXY_PORT="${HAPROXY_PORT:-18080}"
HAPROXY_STATS_PORT="${HAPROXY_STATS_PORT:-18089}"
RECSYS_SERVE_REPLICAS="${RECSYS_SERVE_REPLICAS:-2}"
HAPROXY_START_TIMEOUT="${HAPROXY_START_TIMEOUT:-30}"
HAPROXY_HOME="$CLUSTER_DIR/haproxy"
HAPROXY_CFG="$HAPROXY_HOME/haproxy.cfg"
HAPROXY_LOG="$LOG_DIR/haproxy.log"
HAPROXY_PIDF="$(pid_file haproxy)"
HAPROXY_PATTERN="haproxy -f $HAPROXY_CFG"
[[ $RECSYS_SERVE_REPLICAS =~ ^[1-7]$ ]] || die "RECSYS_SERVE_REPLICAS=$RECSYS_SERVE_REPLICAS: expected 1..7 (ports 18081..18087)"

svc_install() {
  command -v haproxy >/dev/null 2>&1 && return 0
  apt_ensure haproxy
}

write_config() {
  local i servers=''
  for (( i = 1; i <= RECSYS_SERVE_REPLICAS; i++ )); do
    # inter 500ms fall 2: a dead replica leaves the rotation within about a
    # second; rise 2 keeps a restarting one out until it is ready twice.
    servers+="  server serve-$i $BIND_HOST:$((HAPROXY_PORT + i)) check inter 500ms fall 2 rise 2"$'\n'
  done
  mkdir -p "$HAPROXY_HOME"
  cat >"$HAPROXY_CFG.tmp" <<CFG
# Written by infra/scripts/services/cluster/haproxy.sh; edits are overwritten.
global
  maxconn 4096
  log stdout format raw local0 notice

defaults
  mode http
  log global
  option httplog
  option dontlognull
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout check 1s
  # A connection refused or reset by a replica is retried, and the retry goes
  # to another server (redispatch) rather than the dead one.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 503

frontend recsys
  bind $BIND_HOST:$HAPROXY_PORT
  default_backend serving

backend serving
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
$servers
listen stats
  bind $BIND_HOST:$HAPROXY_STATS_PORT
  stats enable
  stats uri /stats
  stats refresh 5s
CFG
  haproxy -c -f "$HAPROXY_CFG.tmp" >/dev/null 2>"$HAPROXY_HOME/check.err" \
    || fail_with_log "$HAPROXY_HOME/check.err" "haproxy rejected the generated config"
  mv -f "$HAPROXY_CFG.tmp" "$HAPROXY_CFG"
}

haproxy_ready() { port_open "$HAPROXY_PORT" && port_open "$HAPROXY_STATS_PORT"; }

svc_up() {
  svc_install
  ensure_dirs "$HAPROXY_HOME"
  take_lock
  local pid t0
  if pid=$(our_pid haproxy "$HAPROXY_PATTERN"); then
    log "already running on $BIND_HOST:$(saved_port haproxy) (pid $pid)"
    warn_port_change HAPROXY_PORT "$(saved_port haproxy)"
    return 0
  fi
  require_free_ports HAPROXY_PORT HAPROXY_STATS_PORT
  write_config
  rotate_log "$HAPROXY_LOG"
  t0=$(now_ms)
  # -db: stay in the foreground (launch_detached records its pid).
  launch_detached "$HAPROXY_PIDF" "$HAPROXY_LOG" haproxy -f "$HAPROXY_CFG" -db
  save_ports "$HAPROXY_PORT" "$HAPROXY_STATS_PORT"
  wait_healthy "$HAPROXY_START_TIMEOUT" "$HAPROXY_PIDF" "$HAPROXY_LOG" haproxy_ready
  pid=$(our_pid haproxy "$HAPROXY_PATTERN") || fail_with_log "$HAPROXY_LOG" "haproxy listens but pid file $HAPROXY_PIDF is missing or stale"
  log "up on $BIND_HOST:$HAPROXY_PORT -> $RECSYS_SERVE_REPLICAS replicas on $BIND_HOST:$((HAPROXY_PORT + 1))..$((HAPROXY_PORT + RECSYS_SERVE_REPLICAS)) (stats http://$BIND_HOST:$HAPROXY_STATS_PORT/stats, pid $pid), started in $(elapsed_s "$t0")s"
}

svc_down() {
  ensure_dirs
  take_lock
  stop_service haproxy "$HAPROXY_PATTERN" 10
}

svc_status() {
  local pid port
  port=$(saved_port haproxy); port=${port:-$HAPROXY_PORT}
  if pid=$(our_pid haproxy "$HAPROXY_PATTERN") && port_open "$port"; then
    printf '%-11s up         %-16s pid %s rss %s MiB\n' haproxy "$BIND_HOST:$port" "$pid" "$(rss_mib "$pid")"
    return 0
  fi
  printf '%-11s down       %s\n' haproxy "$BIND_HOST:$port"
  return 1
}

service_main "$@"
