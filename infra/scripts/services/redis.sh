#!/usr/bin/env bash
# Redis for local dev/CI: Debian's redis-server, no persistence, 127.0.0.1 only.
# Usage: redis.sh install|up|down|status   (normally via infra/scripts/services.sh)
set -euo pipefail
SERVICE=redis
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_DIR="$VAR_DIR/redis"
REDIS_LOG="$LOG_DIR/redis.log"
REDIS_PIDF="$(pid_file redis)"
# redis-server rewrites its process title to "redis-server 127.0.0.1:PORT".
REDIS_PATTERN=redis-server
REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-30}"

redis_ping() { [[ $(redis-cli -h "$BIND_HOST" -p "$1" ping 2>/dev/null) == PONG ]]; }

svc_install() {
  # redis-tools (redis-cli) comes with redis-server as a dependency.
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  apt_ensure redis-server redis-tools
}

svc_up() {
  svc_install
  ensure_dirs "$REDIS_DIR"
  take_lock
  local pid t0 port
  if pid=$(our_pid redis "$REDIS_PATTERN"); then
    port=$(saved_port redis); port=${port:-$REDIS_PORT}
    # Normally returns at once; waits if an interrupted `up` left it starting.
    wait_healthy "$REDIS_START_TIMEOUT" "$REDIS_PIDF" "$REDIS_LOG" redis_ping "$port"
    log "already running on $BIND_HOST:$port (pid $pid)"
    warn_port_change REDIS_PORT "$port"
    return 0
  fi
  require_free_ports REDIS_PORT
  rotate_log "$REDIS_LOG"
  t0=$(now_ms)
  # No snapshots or AOF: the data is disposable test/dev state, and disk
  # writes would only slow the tests down. Redis daemonizes itself; 9>&- keeps
  # the daemon from inheriting (and forever holding) our lock.
  redis-server --port "$REDIS_PORT" --bind "$BIND_HOST" \
    --save '' --appendonly no \
    --daemonize yes --pidfile "$REDIS_PIDF" \
    --dir "$REDIS_DIR" --logfile "$REDIS_LOG" 9>&- \
    || fail_with_log "$REDIS_LOG" "redis-server failed to start"
  save_ports "$REDIS_PORT"
  wait_healthy "$REDIS_START_TIMEOUT" "$REDIS_PIDF" "$REDIS_LOG" redis_ping "$REDIS_PORT"
  pid=$(our_pid redis "$REDIS_PATTERN") || fail_with_log "$REDIS_LOG" "answers PING but pid file $REDIS_PIDF is missing or stale"
  log "up on $BIND_HOST:$REDIS_PORT (pid $pid), started in $(elapsed_s "$t0")s"
}

svc_down() {
  ensure_dirs
  take_lock
  stop_service redis "$REDIS_PATTERN" 20
}

svc_status() {
  local pid port
  if pid=$(our_pid redis "$REDIS_PATTERN"); then
    port=$(saved_port redis); port=${port:-$REDIS_PORT}
    if redis_ping "$port"; then
      printf '%-11s up         %-16s pid %s\n' redis "$BIND_HOST:$port" "$pid"
      return 0
    fi
    printf '%-11s unhealthy  %-16s pid %s (no PONG)\n' redis "$BIND_HOST:$port" "$pid"
    return 1
  fi
  if port_open "$REDIS_PORT"; then
    printf '%-11s foreign    %-16s (port in use, not started by services.sh)\n' redis "$BIND_HOST:$REDIS_PORT"
  else
    printf '%-11s down       %s\n' redis "$BIND_HOST:$REDIS_PORT"
  fi
  return 1
}

service_main "$@"
