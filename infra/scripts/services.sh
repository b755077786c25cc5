#!/usr/bin/env bash
# Installs and runs the project's local services (Kafka, ClickHouse, Redis) on
# 127.0.0.1, without docker or systemd. See usage() below.
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# The single-node topology is the default; `--topology cluster` (or
# RECSYS_TOPOLOGY=cluster) runs the multi-node one, whose scripts live in
# services/cluster/ and write under var/cluster/.
TOPOLOGY="${RECSYS_TOPOLOGY:-single}"
SINGLE_SERVICES=(redis clickhouse kafka)
CLUSTER_SERVICES=(zookeeper clickhouse kafka redis haproxy)

usage() {
  cat <<'EOF'
Usage: bash infra/scripts/services.sh <command> [--topology single|cluster] [service ...]

Topologies:
  single    (default) one Kafka broker, one ClickHouse server, one Redis:
            services kafka, clickhouse, redis.
  cluster   the multi-node topology on this machine: services zookeeper,
            clickhouse, kafka, redis, haproxy (docs/architecture/scale.md).

Commands (no service names = all of the topology's):
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

  local names=() name
  while (( $# )); do
    case $1 in
      --topology) TOPOLOGY=${2:-}; shift 2 || { echo "services.sh: --topology needs a value" >&2; return 2; } ;;
      --topology=*) TOPOLOGY=${1#--topology=}; shift ;;
      *) names+=("$1"); shift ;;
    esac
  done
  local known=() dir
  case $TOPOLOGY in
    single) known=("${SINGLE_SERVICES[@]}"); dir="$SCRIPTS_DIR/services" ;;
    cluster) known=("${CLUSTER_SERVICES[@]}"); dir="$SCRIPTS_DIR/services/cluster" ;;
    *) echo "services.sh: unknown topology '$TOPOLOGY' (expected single or cluster)" >&2; return 2 ;;
  esac
  (( ${#names[@]} )) || names=("${known[@]}")
  for name in "${names[@]}"; do
    if [[ " ${known[*]} " != *" $name "* ]]; then
      echo "services.sh: unknown service '$name' for the $TOPOLOGY topology (expected ${known[*]})" >&2
      return 2
    fi
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
    if ! bash "$dir/$name.sh" "$cmd"; then
      rc=1
      # A failed start usually means the remaining ones are pointless to wait
      # for (and the log tail above is what matters); status and down go on.
      [[ $cmd == up || $cmd == install ]] && break
    fi
  done
  return "$rc"
}

main "$@"
