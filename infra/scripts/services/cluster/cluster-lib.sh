# shellcheck shell=bash
# Shared by the cluster topology's kafka/redis/haproxy scripts, sourced after
# ../lib.sh: their files go under var/cluster/ so nothing collides with the
# single-node services' pid, port and log files.
CLUSTER_DIR="$VAR_DIR/cluster"
RUN_DIR="$CLUSTER_DIR/run"
LOG_DIR="$CLUSTER_DIR/log"

# Resident memory of a process in MiB (for status lines).
rss_mib() { awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status" 2>/dev/null || printf '?'; }
