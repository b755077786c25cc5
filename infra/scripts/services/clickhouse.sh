#!/usr/bin/env bash
# ClickHouse for local dev/CI: Debian's clickhouse-server (18.16), run directly
# by this script (not systemd) with a config rendered into var/clickhouse.
# Usage: clickhouse.sh install|up|down|status   (normally via infra/scripts/services.sh)
set -euo pipefail
SERVICE=clickhouse
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLICKHOUSE_HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-8123}"
CLICKHOUSE_TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
CH_BIN=/usr/sbin/clickhouse-server
CH_HOME="$VAR_DIR/clickhouse"
CH_CONF="$CH_HOME/config.xml"
CH_DATA="$CH_HOME/data"
CH_LOG="$LOG_DIR/clickhouse.log"
CH_ERRLOG="$LOG_DIR/clickhouse.err.log"
# The server's own stdout/stderr: only crashes and pre-logger errors land here.
CH_STDOUT="$LOG_DIR/clickhouse.stdout.log"
CH_PIDF="$(pid_file clickhouse)"
# Our config path in the command line tells our server apart from any other
# clickhouse-server on the machine (the distro's, another checkout's).
CH_PATTERN="--config-file=$CH_CONF"
CH_START_TIMEOUT="${CLICKHOUSE_START_TIMEOUT:-60}"

ch_ping() {
  [[ $(curl -sS --max-time 2 "http://$BIND_HOST:$1/ping" 2>/dev/null) == "Ok." ]]
}

svc_install() {
  local pkgs=()
  [[ -x $CH_BIN ]] || pkgs+=(clickhouse-server)
  # Not a hard dependency of clickhouse-server, but handy for debugging.
  command -v clickhouse-client >/dev/null 2>&1 || pkgs+=(clickhouse-client)
  command -v curl >/dev/null 2>&1 || pkgs+=(curl)
  (( ${#pkgs[@]} )) && apt_ensure "${pkgs[@]}"
  return 0
}

render_config() {
  mkdir -p "$CH_HOME" "$CH_DATA"
  render_template "$INFRA_DIR/clickhouse/config.xml.in" "$CH_CONF" \
    "LOG_DIR=$LOG_DIR" "DATA_DIR=$CH_DATA" "CONF_DIR=$CH_HOME" \
    "HTTP_PORT=$CLICKHOUSE_HTTP_PORT" "TCP_PORT=$CLICKHOUSE_TCP_PORT"
  cp -f "$INFRA_DIR/clickhouse/users.xml" "$CH_HOME/users.xml"
}

svc_up() {
  svc_install
  ensure_dirs "$CH_HOME"
  take_lock
  local pid t0 http tcp
  if pid=$(our_pid clickhouse "$CH_PATTERN"); then
    http=$(saved_port clickhouse 1); tcp=$(saved_port clickhouse 2)
    # Normally returns at once; waits if an interrupted `up` left it starting.
    wait_healthy "$CH_START_TIMEOUT" "$CH_PIDF" "$CH_ERRLOG:$CH_STDOUT:$CH_LOG" ch_ping "${http:-$CLICKHOUSE_HTTP_PORT}"
    log "already running on $BIND_HOST:${http:-$CLICKHOUSE_HTTP_PORT} (http), :${tcp:-$CLICKHOUSE_TCP_PORT} (tcp) (pid $pid)"
    warn_port_change CLICKHOUSE_HTTP_PORT "$http"
    warn_port_change CLICKHOUSE_TCP_PORT "$tcp"
    return 0
  fi
  require_free_ports CLICKHOUSE_HTTP_PORT CLICKHOUSE_TCP_PORT
  render_config
  rotate_log "$CH_LOG" "$CH_ERRLOG" "$CH_STDOUT"
  t0=$(now_ms)
  # Foreground mode under launch_detached rather than --daemon: the pid file
  # is written before the server starts, and early errors that happen before
  # the logger is set up still reach a file.
  launch_detached "$CH_PIDF" "$CH_STDOUT" "$CH_BIN" "$CH_PATTERN"
  save_ports "$CLICKHOUSE_HTTP_PORT" "$CLICKHOUSE_TCP_PORT"
  wait_healthy "$CH_START_TIMEOUT" "$CH_PIDF" "$CH_ERRLOG:$CH_STDOUT:$CH_LOG" ch_ping "$CLICKHOUSE_HTTP_PORT"
  pid=$(our_pid clickhouse "$CH_PATTERN") || fail_with_log "$CH_LOG" "answers /ping but pid file $CH_PIDF is missing or stale"
  log "up on $BIND_HOST:$CLICKHOUSE_HTTP_PORT (http), :$CLICKHOUSE_TCP_PORT (tcp) (pid $pid), started in $(elapsed_s "$t0")s"
}

svc_down() {
  ensure_dirs
  take_lock
  # SIGTERM normally finishes in ~2 s; the grace period covers merges in flight.
  stop_service clickhouse "$CH_PATTERN" 30
}

svc_status() {
  local pid http
  if pid=$(our_pid clickhouse "$CH_PATTERN"); then
    http=$(saved_port clickhouse 1); http=${http:-$CLICKHOUSE_HTTP_PORT}
    if ch_ping "$http"; then
      printf '%-11s up         %-16s pid %s\n' clickhouse "$BIND_HOST:$http" "$pid"
      return 0
    fi
    printf '%-11s unhealthy  %-16s pid %s (/ping failed)\n' clickhouse "$BIND_HOST:$http" "$pid"
    return 1
  fi
  if port_open "$CLICKHOUSE_HTTP_PORT"; then
    printf '%-11s foreign    %-16s (port in use, not started by services.sh)\n' clickhouse "$BIND_HOST:$CLICKHOUSE_HTTP_PORT"
  else
    printf '%-11s down       %s\n' clickhouse "$BIND_HOST:$CLICKHOUSE_HTTP_PORT"
  fi
  return 1
}

service_main "$@"
