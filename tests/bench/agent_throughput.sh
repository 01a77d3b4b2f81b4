#!/usr/bin/env bash
# Benchmark: how fast walship-agent drains a slot compared with pg_recvlogical (the
# baseline: pgoutput straight to /dev/null, no decoding, no durability) over the same WAL.
# Both slots exist before the workload, so both decode exactly the same changes. walship runs
# with its defaults (fsync on, default group commit) into a local-directory object store.
#   bash tests/bench/agent_throughput.sh [ROW_CHANGES]     (default 1000000)
# Prints both times and the rate ratio (pg_recvlogical time / walship time; higher is better).
source "$(dirname "$0")/lib.sh"
changes=${1:-1000000}
dir=${BENCH_DIR:-/tmp/walship-bench-throughput}
[[ -x $agent_bin ]] || { echo "build first: no $agent_bin" >&2; exit 1; }

start_cluster "$dir"
create_events_db baseline walship

# The agent's first start takes its base snapshot (of the still empty table), so that the
# timed run below measures draining the WAL only, as pg_recvlogical does.
rm -rf "$dir/store" "$dir/work"
"$agent_bin" --source "$bench_conn dbname=crm" --slot walship --publication walship \
  --object-store "file://$dir/store" --work-dir "$dir/work" --until-lsn 0/1 --log-level warning

t0=$(now_s)
run_events_workload "$changes"
wal_bytes=$(psql_bench crm -c "SELECT pg_wal_lsn_diff('$end_lsn', restart_lsn) FROM pg_replication_slots WHERE slot_name = 'walship'")
echo "generated in $(elapsed "$t0" "$(now_s)") s; WAL to decode: $((wal_bytes / 1048576)) MiB, end LSN $end_lsn"

t0=$(now_s)
timed_rss "$dir/recv.rss" pg_recvlogical -d "$bench_conn dbname=crm" -S baseline --start --no-loop \
  --endpos="$end_lsn" -o proto_version=2 -o publication_names=walship -o streaming=on \
  -o messages=on -f /dev/null
t_recv=$(elapsed "$t0" "$(now_s)")

t0=$(now_s)
timed_rss "$dir/agent.rss" "$agent_bin" --source "$bench_conn dbname=crm" --slot walship \
  --publication walship --object-store "file://$dir/store" --work-dir "$dir/work" \
  --until-lsn "$end_lsn" --log-level warning
t_agent=$(elapsed "$t0" "$(now_s)")
store_bytes=$(du -sb "$dir/store" | cut -f1)
txns=$("$replay_bin" list --object-store "file://$dir/store" | sed -n 's/.*segments, \([0-9]*\) transactions.*/\1/p')

echo
echo "row changes:          $changes (walship stored $txns transactions, $((store_bytes / 1048576)) MiB)"
echo "pg_recvlogical:       $t_recv s  (peak RSS $(( $(cat "$dir/recv.rss") / 1024 )) MiB)"
echo "walship-agent:        $t_agent s  (peak RSS $(( $(cat "$dir/agent.rss") / 1024 )) MiB)"
awk -v a="$t_recv" -v b="$t_agent" -v n="$changes" 'BEGIN {
  printf "walship rate:         %.0f changes/s\n", n / b
  printf "ratio (recv/walship): %.2f  (goal >= 0.9)\n", a / b }'
