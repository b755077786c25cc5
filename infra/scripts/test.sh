#!/usr/bin/env bash
# The whole test command: type-check, lint (incl. import direction), the generated
# CLI reference's freshness, unit tests, then integration tests on the real local
# services and the getting-started walkthrough. Services that were not
# running are started here and stopped again at the end (KEEP_SERVICES=1 keeps them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export NODE_ENV=test

step() { printf '\n== %s\n' "$*"; }

step "type-check"
npx tsc -p tsconfig.json --noEmit

step "lint"
npx eslint .
npx depcruise --config .dependency-cruiser.cjs --output-type err .

step "docs: docs/reference/cli.md matches the CLI's --help; links resolve"
node --import tsx scripts/gen-cli-docs.ts --check
node --import tsx scripts/check-doc-links.ts

step "unit tests"
npx mocha 'test/unit/**/*.test.ts'

started=()
stop_started() {
  if [ "${#started[@]}" -gt 0 ] && [ "${KEEP_SERVICES:-0}" != "1" ]; then
    step "stopping services started for the tests: ${started[*]}"
    bash infra/scripts/services.sh down "${started[@]}" || true
  fi
}
trap stop_started EXIT

step "services"
for service in kafka clickhouse redis; do
  if ! bash infra/scripts/services.sh status "$service" >/dev/null 2>&1; then
    started+=("$service")
  fi
done
if [ "${#started[@]}" -gt 0 ]; then
  bash infra/scripts/services.sh up "${started[@]}"
fi
bash infra/scripts/services.sh status

step "integration tests (real Kafka, ClickHouse, Redis)"
npx mocha --timeout 120000 'test/integration/**/*.test.ts'

# The getting-started walkthrough, command by command as the page writes them,
# on private names (a few minutes); DOCS_WALKTHROUGH=0 skips it.
if [ "${DOCS_WALKTHROUGH:-1}" != "0" ]; then
  step "docs: docs/getting-started.md's streaming loop runs as written"
  node --import tsx scripts/check-getting-started.ts
fi

# The cluster topology's fault tests (test/cluster/): ZooKeeper, ClickHouse 2
# shards x 2 replicas, 3 Kafka brokers, Redis Cluster and haproxy on their own
# ports, beside the single-node services. What this step starts it stops
# again, also on failure. CLUSTER_TESTS=0 skips it.
if [ "${CLUSTER_TESTS:-1}" != "0" ]; then
  step "cluster topology: up"
  cluster_started=0
  stop_cluster() {
    if [ "$cluster_started" = "1" ] && [ "${KEEP_SERVICES:-0}" != "1" ]; then
      step "cluster topology: down"
      bash infra/scripts/services/cluster/serve-replicas.sh down || true
      bash infra/scripts/services.sh down --topology cluster || true
    fi
    stop_started
  }
  trap stop_cluster EXIT
  cluster_t0=$SECONDS
  # Left running afterwards only if it was already up before (as the
  # single-node services above).
  if ! bash infra/scripts/services.sh status --topology cluster >/dev/null 2>&1; then cluster_started=1; fi
  bash infra/scripts/services.sh up --topology cluster
  bash infra/scripts/services.sh status --topology cluster
  step "cluster fault tests"
  # --exit: after test/cluster/kafka/broker-kill-train.test.ts the process stays
  # up with no active handle or request node reports (cause not found yet); the
  # tests themselves end and report before it.
  npx mocha --exit --timeout 600000 'test/cluster/**/*.test.ts'
  printf 'cluster step: %d s (up + tests)\n' $((SECONDS - cluster_t0))
fi
