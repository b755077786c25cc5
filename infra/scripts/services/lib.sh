# shellcheck shell=bash
# Shared helpers for infra/scripts/services/*.sh. Sourced, never executed.
#
# Every service script follows the same contract:
#   - everything it writes lives under $VAR_DIR (var/ at the repo root);
#   - a service counts as "ours" only if var/run/<name>.pid names a live
#     process whose command line matches the service's pattern, so `down`
#     never touches a server that something else started.

# Derived from this file's location so the scripts work from any cwd and from
# any checkout folder.
SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SERVICES_DIR/../../.." && pwd -P)"
# shellcheck disable=SC2034 # used by the service scripts that source this file
INFRA_DIR="$REPO_ROOT/infra"
VAR_DIR="$REPO_ROOT/var"
RUN_DIR="$VAR_DIR/run"
LOG_DIR="$VAR_DIR/log"
# Downloads that are expensive to repeat (Kafka jars) live outside the repo so
# a fresh clone or a `rm -rf var` does not pay for them again.
RECSYS_CACHE="${RECSYS_CACHE:-${HOME:?HOME must be set}/.cache/recsys}"

BIND_HOST=127.0.0.1
SERVICE="${SERVICE:-services}"

log()  { printf '%-10s %s\n' "$SERVICE" "$*" >&2; }
die()  { printf '%-10s ERROR: %s\n' "$SERVICE" "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
# Time since $1 (a now_ms value), printed as seconds with two decimals.
elapsed_s() { local ms=$(( $(now_ms) - $1 )); printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10)); }

ensure_dirs() { mkdir -p "$RUN_DIR" "$LOG_DIR" "$@"; }

# --- processes and pid files -------------------------------------------------

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

# True for a live process. kill -0 alone also succeeds for zombies, which a
# container's PID 1 may never reap, so the process state is checked too.
pid_alive() {
  local pid=$1 state
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]]
}

# Prints the pid recorded for service $1 if that process is alive and its
# command line contains $2; guards against a stale pid file whose pid the
# kernel has since handed to an unrelated process.
our_pid() {
  local f pid cmd
  f=$(pid_file "$1")
  [[ -s $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  pid_alive "$pid" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$2"* ]] || return 1
  printf '%s' "$pid"
}

# Starts "$@" detached from this shell's session (so Ctrl-C or closing the
# terminal does not take the server down) with output appended to $2. The
# child writes its own pid before exec'ing the server, so the pid file names
# the server itself rather than a wrapper. The lock fds (8, 9) are closed:
# a server inheriting them would hold the lock for as long as it runs.
launch_detached() {
  local pidf=$1 logf=$2
  shift 2
  rm -f "$pidf"
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" >>"$logf" 2>&1 </dev/null 8>&- 9>&- &
  disown 2>/dev/null || true
}

# SIGTERM, wait up to $3 seconds, then SIGKILL. Only acts on the pid recorded
# by `up`, and only if it still looks like our server.
stop_service() {
  local name=$1 pattern=$2 grace=${3:-20} pid pidf t0 deadline
  pidf=$(pid_file "$name")
  if ! pid=$(our_pid "$name" "$pattern"); then
    rm -f "$pidf"
    log "not running (nothing started by services.sh)"
    return 0
  fi
  t0=$(now_ms)
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( t0 + grace * 1000 ))
  while pid_alive "$pid" && (( $(now_ms) < deadline )); do sleep 0.1; done
  if pid_alive "$pid"; then
    log "pid $pid still alive after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$(( $(now_ms) + 10000 ))
    while pid_alive "$pid" && (( $(now_ms) < deadline )); do sleep 0.1; done
    if pid_alive "$pid"; then die "pid $pid survived SIGKILL"; fi
  fi
  rm -f "$pidf" "$RUN_DIR/$name.ports"
  log "stopped (pid $pid) in $(elapsed_s "$t0")s"
}

# --- ports -------------------------------------------------------------------

# True if something accepts TCP connections on 127.0.0.1:$1. Uses bash's
# /dev/tcp so it needs no nc/ss; `timeout` bounds it should a SYN ever hang.
# shellcheck disable=SC2016 # expanded by the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$BIND_HOST" "$1" 2>/dev/null; }

# Best-effort description of who listens on port $1, for error messages.
port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:((.*))' | head -n1 || true
}

# require_free_ports VAR...: fails unless the port in each named variable is
# free. Called only when our own server is not running, so anything
# listening is someone else's.
require_free_ports() {
  local var p owner
  for var in "$@"; do
    p=${!var}
    if ! [[ $p =~ ^[0-9]+$ ]] || (( p < 1 || p > 65535 )); then die "invalid $var='$p'"; fi
    if port_open "$p"; then
      owner=$(port_owner "$p")
      die "$var: $BIND_HOST:$p is already in use${owner:+ by $owner}, not by a $SERVICE that services.sh started (no live $(pid_file "$SERVICE")). Stop that process or set $var to a free port."
    fi
  done
}

# The ports a running server was started with, so `status` and a repeated `up`
# report where it really listens even if the environment changed since.
save_ports() { printf '%s\n' "$@" >"$RUN_DIR/$SERVICE.ports"; }
saved_port() { sed -n "${2:-1}p" "$RUN_DIR/$1.ports" 2>/dev/null || true; }

# warn_port_change VAR <port it runs on>: an `up` that finds the server already
# running does not move it, so say so if the caller asked for another port.
warn_port_change() {
  if [[ -n $2 && ${!1} != "$2" ]]; then
    log "note: $1=${!1} differs from the running server's port $2; run \`down\` first to change it"
  fi
  return 0
}

# --- waiting -----------------------------------------------------------------

# wait_healthy <timeout-s> <pid-file> <log-files> <probe-cmd...>
# Polls the probe until it succeeds. Fails early, with the log tail, if the
# recorded process dies, instead of sitting out the whole timeout. On a
# timeout the half-started server is stopped, so the next `up` starts afresh
# instead of reporting "already running".
# <log-files> is a ':'-separated list of logs to show on failure.
wait_healthy() {
  local timeout=$1 pidf=$2 logs=$3 deadline pid
  shift 3
  deadline=$(( $(now_ms) + timeout * 1000 ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    pid=$(tr -dc '0-9' 2>/dev/null <"$pidf" || true)
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      rm -f "$pidf"
      fail_with_log "$logs" "process $pid exited during start-up"
    fi
    if (( $(now_ms) > deadline )); then
      if [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 2
        if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
      fi
      rm -f "$pidf"
      fail_with_log "$logs" "not healthy after ${timeout}s (stopped it${pid:+, pid $pid}); raise ${SERVICE^^}_START_TIMEOUT if the machine is just slow"
    fi
    sleep 0.1
  done
}

# fail_with_log <log-files> <message>: prints the message and the tail of each
# non-empty log (':'-separated list), then exits 1.
fail_with_log() {
  local logs=$1 lines=${LOG_TAIL_LINES:-40} files=() logf shown=0
  shift
  {
    printf '%-10s ERROR: %s\n' "$SERVICE" "$*"
    IFS=: read -r -a files <<<"$logs"
    for logf in "${files[@]}"; do
      [[ -s $logf ]] || continue
      shown=1
      printf '%-10s ---- last %d lines of %s ----\n' "$SERVICE" "$lines" "$logf"
      tail -n "$lines" "$logf"
    done
    if (( shown )); then
      printf '%-10s ----\n' "$SERVICE"
    else
      printf '%-10s (no log output in %s)\n' "$SERVICE" "$logs"
    fi
  } >&2
  exit 1
}

# Keeps one previous copy of each log (as <log>.prev, a name that ClickHouse's
# own numbered rotation does not use), so health checks and failure reports
# only see lines from the current start.
rotate_log() {
  local f
  for f in "$@"; do
    [[ -e $f ]] && mv -f "$f" "$f.prev"
  done
  return 0
}

# Serialises up/down of one service so two concurrent callers (say, parallel
# CI steps) do not both decide "not running" and race on the port. Uses fd 9;
# anything started while it is held must close it (see launch_detached).
take_lock() {
  exec 9>"$RUN_DIR/$SERVICE.lock"
  flock -w 300 9 || die "timed out waiting for $RUN_DIR/$SERVICE.lock"
}

# --- templates ---------------------------------------------------------------

# render_template <src> <dst> KEY=VALUE...: replaces @KEY@ with VALUE.
render_template() {
  local src=$1 dst=$2 kv key val expr=()
  shift 2
  for kv in "$@"; do
    key=${kv%%=*}
    val=${kv#*=}
    val=$(printf '%s' "$val" | sed -e 's/[\\|&]/\\&/g')
    expr+=(-e "s|@${key}@|${val}|g")
  done
  sed "${expr[@]}" "$src" >"$dst.tmp"
  if grep -q '@[A-Z_][A-Z_]*@' "$dst.tmp"; then
    local left
    left=$(grep -o '@[A-Z_][A-Z_]*@' "$dst.tmp" | head -n1)
    rm -f "$dst.tmp"
    die "unreplaced placeholder $left in $src"
  fi
  mv -f "$dst.tmp" "$dst"
}

# --- installing --------------------------------------------------------------

# Installs the Debian packages among "$@" that are not installed yet. Refreshes
# the package lists first only if there are none or the install fails, so a
# warm machine pays nothing.
apt_ensure() {
  local missing=() p sudo=()
  for p in "$@"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
  done
  (( ${#missing[@]} )) || return 0
  command -v apt-get >/dev/null 2>&1 || die "need Debian packages ${missing[*]} but apt-get is not available"
  if (( EUID != 0 )); then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  log "installing ${missing[*]} (apt-get)"
  (
    # Debian's postinst scripts would start the distro's own redis/clickhouse
    # on the default ports, which would then block ours. policy-rc.d=101 tells
    # invoke-rc.d not to; container images usually ship one already.
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
      "${sudo[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod +x $policy"
      trap '"${sudo[@]}" rm -f "$policy"' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    local install=("${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}")
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
      "${sudo[@]}" apt-get update -q
    fi
    if ! "${install[@]}"; then
      log "apt-get install failed; refreshing package lists and retrying"
      "${sudo[@]}" apt-get update -q
      "${install[@]}"
    fi
  ) >&2 || die "apt-get install ${missing[*]} failed"
}

# Common entry point for the per-service scripts: dispatches the verb to the
# script's svc_<verb> function.
service_main() {
  local verb=${1:-}
  case $verb in
    install) svc_install; log "installed" ;;
    up|down|status) "svc_$verb" ;;
    *) die "usage: $0 install|up|down|status" ;;
  esac
}
