#!/usr/bin/env bash
# Benchmark: what an off-site S3 copy costs. walship-agent drains the same WAL twice: into a
# local-directory object store alone, then into a local directory and s3rver (a real
# S3-protocol server on loopback) at once, where the slot waits for both. Two slots exist
# before the workload, so both runs decode exactly the same changes. No base snapshot
# (--no-base): this measures the change stream.
#   bash tests/bench/s3_throughput.sh [ROW_CHANGES]     (default 300000)
# s3rver: WALSHIP_S3RVER_JS, else /opt/walship-test-peers/node_modules/s3rver/bin/s3rver.js.
# Prints both times and rates and the ratio (local+S3 rate / local rate).
source "$(dirname "$0")/lib.sh"
changes=${1:-300000}
dir=${BENCH_DIR:-/tmp/walship-bench-s3}
s3rver_js=${WALSHIP_S3RVER_JS:-/opt/walship-test-peers/node_modules/s3rver/bin/s3rver.js}
[[ -x $agent_bin ]] || { echo "build first: no $agent_bin" >&2; exit 1; }
[[ -f $s3rver_js ]] || { echo "no s3rver at $s3rver_js (set WALSHIP_S3RVER_JS)" >&2; exit 1; }

start_cluster "$dir"
s3rver_pid=
cleanup() {
  [[ -n $s3rver_pid ]] && kill "$s3rver_pid" 2>/dev/null || true
  stop_cluster
}
trap cleanup EXIT

# s3rver on a free port (it prints the one it got).
mkdir -p "$dir/s3rver"
node --openssl-legacy-provider "$s3rver_js" -d "$dir/s3rver" -a 127.0.0.1 -p 0 \
  --configure-bucket walship >"$dir/s3rver.log" 2>&1 &
s3rver_pid=$!
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/s3rver.log")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n ${port:-} ]] || { echo "s3rver did not start: $(cat "$dir/s3rver.log")" >&2; exit 1; }
s3_url="s3://walship/bench?endpoint=http://127.0.0.1:$port&region=us-east-1"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_PROFILE AWS_SESSION_TOKEN WALSHIP_ENCRYPTION_KEY

create_events_db local_only local_s3

run_events_workload "$changes"
echo "end LSN $end_lsn"

# run_agent SLOT STORE_URL... : drains SLOT to end_lsn; prints the elapsed seconds.
run_agent() {
  local slot=$1; shift
  local stores=()
  for url in "$@"; do stores+=(--object-store "$url"); done
  rm -rf "$dir/work-$slot"
  local t0; t0=$(now_s)
  "$agent_bin" --source "$bench_conn dbname=crm" --slot "$slot" --publication walship \
    "${stores[@]}" --work-dir "$dir/work-$slot" --no-base --until-lsn "$end_lsn" \
    --log-level warning >&2
  elapsed "$t0" "$(now_s)"
}

rm -rf "$dir/store-local" "$dir/store-both"
t_local=$(run_agent local_only "file://$dir/store-local")
t_both=$(run_agent local_s3 "file://$dir/store-both" "$s3_url")

segs_local=$(find "$dir/store-local" -path '*/wal/*.seg' | wc -l)
segs_s3=$(AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url "http://127.0.0.1:$port" s3 ls \
  --recursive s3://walship/bench/ | grep -c '/wal/.*\.seg$' || true)
confirmed=$(psql_bench crm -c "SELECT string_agg(slot_name || '=' || confirmed_flush_lsn, ' ')
                               FROM pg_replication_slots")
echo
echo "row changes:            $changes   (slots: $confirmed)"
echo "local directory alone:  $t_local s  ($segs_local segments)"
echo "local + s3rver:         $t_both s  ($segs_s3 segments in s3rver)"
awk -v a="$t_local" -v b="$t_both" -v n="$changes" 'BEGIN {
  printf "rate, local alone:      %.0f changes/s\n", n / a
  printf "rate, local + s3rver:   %.0f changes/s\n", n / b
  printf "ratio (both/local):     %.2f\n", a / b }'
