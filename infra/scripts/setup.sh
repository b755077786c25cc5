#!/usr/bin/env bash
# The set-up step: Node dependencies, native TensorFlow for tfjs-node, and the
# local services' binaries (Kafka jars, ClickHouse, Redis). Idempotent; a second
# run takes seconds thanks to the caches under ${RECSYS_CACHE:-~/.cache/recsys}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

started=$SECONDS
log() { printf '[setup] %s\n' "$*" >&2; }

# Dependencies' install scripts are skipped: tfjs-node's would download
# libtensorflow from a host that may be unreachable, and npm runs it before any
# hook of ours could place the library. install-tfjs-native.sh does that part.
# `npm install` with the lock file rather than `npm ci`: chdb lists optional
# per-platform packages that are not all published, and `npm ci` then calls the
# lock file out of sync even though every package this platform needs is in it.
log "npm install --ignore-scripts (from package-lock.json)"
npm install --ignore-scripts --no-audit --no-fund

log "hnswlib-node (serving's ANN index): built from source with node-gyp"
npm rebuild hnswlib-node --foreground-scripts >/dev/null

# A new version of the package comes without build/ (npm replaces its folder), so a present addon is current.
if [ -f node_modules/node-rdkafka/build/Release/node-librdkafka.node ]; then
  log "node-rdkafka (the producers' librdkafka): already built"
else
  log "node-rdkafka (the producers' librdkafka): built from its bundled source, ~3 min"
  npm rebuild node-rdkafka --foreground-scripts >/dev/null
fi

log "native TensorFlow for @tensorflow/tfjs-node"
bash infra/scripts/install-tfjs-native.sh

log "our TensorFlow kernels (native) against that library"
bash infra/scripts/build-native-ops.sh

log "service binaries (Kafka 3.9 jars, clickhouse-server, redis-server)"
bash infra/scripts/services.sh install
# The cluster topology's own binary (its Kafka and Redis are the ones above).
bash infra/scripts/services.sh install --topology cluster haproxy

log "test tools (strace: the durable-publish test watches fsyncs with it)"
( SERVICE=setup; source infra/scripts/services/lib.sh; apt_ensure strace )

log "done in $((SECONDS - started)) s"
