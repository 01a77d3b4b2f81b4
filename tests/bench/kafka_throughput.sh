#!/usr/bin/env bash
# Benchmark: what streaming to Kafka costs. walship-agent drains the same WAL twice in one
# run: into a local-directory object store alone, then into a local object store plus the
# mock Kafka cluster (librdkafka's mock brokers in their own process, 3 brokers on loopback
# TCP; production producer settings: idempotent, acks=all, zstd). Both slots exist before the
# workload, so both runs decode exactly the same changes.
#   bash tests/bench/kafka_throughput.sh [ROW_CHANGES]     (default 1000000)
# Prints both rates in events/s and their ratio (Kafka run rate / store-only rate).
# The mock keeps at most 5 MiB per partition (older batches are dropped); this measures the
# producer path, not broker storage.
source "$(dirname "$0")/lib.sh"
changes=${1:-1000000}
dir=${BENCH_DIR:-/tmp/walship-bench-kafka}
mock_bin=${WALSHIP_MOCKCLUSTER_BIN:-$build_dir/tests/tools/mockcluster/walship_mockcluster}
[[ -x $agent_bin ]] || { echo "build first: no $agent_bin" >&2; exit 1; }
[[ -x $mock_bin ]] || { echo "build first: no $mock_bin (target walship_mockcluster)" >&2; exit 1; }

start_cluster "$dir"
mock_pid= holder_pid=
cleanup() {
  [[ -n $mock_pid ]] && kill -KILL "$mock_pid" 2>/dev/null || true
  [[ -n $holder_pid ]] && kill "$holder_pid" 2>/dev/null || true
  stop_cluster
}
trap cleanup EXIT

create_events_db store_only with_kafka

t0=$(now_s)
run_events_workload "$changes"
echo "generated in $(elapsed "$t0" "$(now_s)") s; end LSN $end_lsn"

start_kafka_mock "$dir"

# run_agent NAME SLOT [extra agent options...]: prints the elapsed seconds.
run_agent() {
  local name=$1 slot=$2; shift 2
  rm -rf "$dir/store-$name" "$dir/work-$name"
  local t0; t0=$(now_s)
  timed_rss "$dir/$name.rss" "$agent_bin" --source "$bench_conn dbname=crm" --slot "$slot" \
    --publication walship --object-store "file://$dir/store-$name" --work-dir "$dir/work-$name" \
    --until-lsn "$end_lsn" --log-level warning "$@" 2> "$dir/$name.log" ||
    { echo "walship-agent ($name) failed:" >&2; tail -20 "$dir/$name.log" >&2; exit 1; }
  elapsed "$t0" "$(now_s)"
}

t_store=$(run_agent store store_only)
t_kafka=$(run_agent kafka with_kafka --kafka "$bootstrap")
# Both slots decode the same WAL and every row change is one event; each run exits only
# once everything up to the end LSN is durable in all of its sinks.
events=$changes

echo
echo "row changes:               $changes"
echo "object store alone:        $t_store s (peak RSS $(( $(cat "$dir/store.rss") / 1024 )) MiB)"
echo "object store + Kafka mock: $t_kafka s (peak RSS $(( $(cat "$dir/kafka.rss") / 1024 )) MiB)"
awk -v a="$t_store" -v b="$t_kafka" -v n="$events" -v m="$events" 'BEGIN {
  ra = n / a; rb = m / b
  printf "store alone rate:          %.0f events/s\n", ra
  printf "store + Kafka rate:        %.0f events/s\n", rb
  printf "ratio (kafka/store alone): %.2f\n", rb / ra }'
