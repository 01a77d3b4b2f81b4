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

psql_bench postgres -c "CREATE DATABASE crm"
psql_bench crm <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, customer text, amount numeric(12,2),
                     at timestamptz, payload jsonb, note text);
CREATE PUBLICATION walship FOR ALL TABLES;
SELECT 'slot' FROM pg_create_logical_replication_slot('local_only', 'pgoutput');
SELECT 'slot' FROM pg_create_logical_replication_slot('local_s3', 'pgoutput');
SQL

# Workload: half inserts, a third updates, the rest deletes, in transactions of 10k rows.
inserts=$((changes / 2)); updates=$((changes * 3 / 10)); deletes=$((changes - inserts - updates))
echo "workload: $inserts inserts, $updates updates, $deletes deletes"
for ((lo = 1; lo <= inserts; lo += 10000)); do
  hi=$((lo + 9999 < inserts ? lo + 9999 : inserts))
  echo "INSERT INTO events SELECT g, 'customer ' || (g % 5000), g * 1.25, timestamptz '2025-01-01' + g * interval '1 s',
        jsonb_build_object('k', g, 'tag', 'bench'), repeat('n', g % 40) FROM generate_series($lo, $hi) g;"
done | psql_bench crm
for ((lo = 1; lo <= updates; lo += 10000)); do
  hi=$((lo + 9999 < updates ? lo + 9999 : updates))
  echo "UPDATE events SET amount = amount + 1, note = 'updated' WHERE id BETWEEN $lo AND $hi;"
done | psql_bench crm
for ((lo = inserts - deletes + 1; lo <= inserts; lo += 10000)); do
  hi=$((lo + 9999 < inserts ? lo + 9999 : inserts))
  echo "DELETE FROM events WHERE id BETWEEN $lo AND $hi;"
done | psql_bench crm
end_lsn=$(psql_bench crm -c "SELECT pg_current_wal_lsn()")
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
