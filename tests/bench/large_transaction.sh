#!/usr/bin/env bash
# Benchmark / check: one transaction holding at least 500 MB of row data. The agent must
# stream it (pgoutput streaming, spilled to its work directory) with a bounded peak RSS
# (goal: under 200 MB), and the restore must equal the source.
#   bash tests/bench/large_transaction.sh [MEGABYTES]      (default 520)
source "$(dirname "$0")/lib.sh"
mb=${1:-520}
rows=$((mb * 1000))   # ~1000 bytes of text per row
dir=${BENCH_DIR:-/tmp/walship-bench-large}
[[ -x $agent_bin && -x $replay_bin ]] || { echo "build first" >&2; exit 1; }

start_cluster "$dir" "logical_decoding_work_mem=64MB"
psql_bench postgres -c "CREATE DATABASE crm" -c "CREATE DATABASE restored"
schema="CREATE TABLE documents (id bigint PRIMARY KEY, title text, body text, size int);"
psql_bench crm -c "$schema"
psql_bench restored -c "$schema"
rm -rf "$dir/store" "$dir/work"
"$agent_bin" --source "$bench_conn dbname=crm" --create --object-store "file://$dir/store" \
  --work-dir "$dir/work" --until-lsn 0/1 --log-level warning

t0=$(now_s)
psql_bench crm -c "INSERT INTO documents SELECT g, 'doc ' || g, repeat(md5(g::text), 31), 992
                   FROM generate_series(1, $rows) g"
row_bytes=$(psql_bench crm -c "SELECT sum(pg_column_size(d.*)) FROM documents d")
end_lsn=$(psql_bench crm -c "SELECT pg_current_wal_lsn()")
echo "one transaction: $rows rows, $((row_bytes / 1000000)) MB of row data, in $(elapsed "$t0" "$(now_s)") s"

t0=$(now_s)
timed_rss "$dir/agent.rss" "$agent_bin" --source "$bench_conn dbname=crm" \
  --object-store "file://$dir/store" --work-dir "$dir/work" --until-lsn "$end_lsn" --log-level warning
t_agent=$(elapsed "$t0" "$(now_s)")
rss_mb=$(( $(cat "$dir/agent.rss") / 1024 ))

t0=$(now_s)
"$replay_bin" restore --object-store "file://$dir/store" --target "$bench_conn dbname=restored" --log-format text 2>&1 | tail -2
t_restore=$(elapsed "$t0" "$(now_s)")
verdict=$("$replay_bin" verify --source "$bench_conn dbname=crm" --target "$bench_conn dbname=restored" || true)

echo
echo "agent:   $t_agent s, peak RSS $rss_mb MiB (goal < 200 MiB)"
echo "restore: $t_restore s"
echo "verify:  $verdict"
[[ $rss_mb -lt 200 && $verdict == equal* ]] && echo "RESULT: PASS" || { echo "RESULT: FAIL"; exit 1; }
