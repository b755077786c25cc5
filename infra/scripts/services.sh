#!/usr/bin/env bash
# Installs and runs the project's local services (Kafka, ClickHouse, Redis) on
# 127.0.0.1, without docker or systemd. See usage() below.
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ALL_SERVICES=(redis clickhouse kafka)

usage() {
  cat <<'EOF'
Usage: bash infra/scripts/services.sh <command> [kafka|clickhouse|redis ...]

Commands (no service names = all three):
  install   Install what is missing (Debian packages via apt-get, Kafka jars via
            Maven into ${RECSYS_CACHE:-~/.cache/recsys}/kafka-3.9.1/libs).
  up        Install if needed, start what is not running, wait until healthy,
            print each start-up time. Already running -> left alone.
  down      Stop what `up` started (pid files in var/run): SIGTERM, then
            SIGKILL after a grace period. Never touches other processes.
  status    Print each service's health; exit 1 if any requested one is not up.

Everything the services write goes to var/ at the repo root:
  var/run/*.pid  var/log/*.log  var/kafka  var/clickhouse  var/redis

Environment (defaults):
  KAFKA_PORT=9092  KAFKA_CONTROLLER_PORT=9093  KAFKA_HEAP_OPTS="-Xms256m -Xmx1g"
  CLICKHOUSE_HTTP_PORT=8123  CLICKHOUSE_TCP_PORT=9000  REDIS_PORT=6379
  RECSYS_CACHE=~/.cache/recsys  RECSYS_MAVEN_REPO=(Maven's default ~/.m2/repository)
  KAFKA_START_TIMEOUT=120  CLICKHOUSE_START_TIMEOUT=60  REDIS_START_TIMEOUT=30
EOF
}

main() {
  local cmd=${1:-}
  case $cmd in
    -h|--help|help) usage; return 0 ;;
    install|up|down|status) shift ;;
    '') usage >&2; return 2 ;;
    *) echo "services.sh: unknown command '$cmd'" >&2; usage >&2; return 2 ;;
  esac

  local names=("$@") name
  (( ${#names[@]} )) || names=("${ALL_SERVICES[@]}")
  for name in "${names[@]}"; do
    case $name in
      kafka|clickhouse|redis) ;;
      *) echo "services.sh: unknown service '$name' (expected kafka, clickhouse or redis)" >&2; return 2 ;;
    esac
  done
  # Stop in reverse start order, so Kafka (slowest, most likely to have
  # clients) goes first.
  if [[ $cmd == down ]]; then
    local i reversed=()
    for (( i=${#names[@]}-1; i>=0; i-- )); do reversed+=("${names[i]}"); done
    names=("${reversed[@]}")
  fi

  local rc=0
  for name in "${names[@]}"; do
    if ! bash "$SCRIPTS_DIR/services/$name.sh" "$cmd"; then
      rc=1
      # A failed start usually means the remaining ones are pointless to wait
      # for (and the log tail above is what matters); status and down go on.
      [[ $cmd == up || $cmd == install ]] && break
    fi
  done
  return "$rc"
}

main "$@"
