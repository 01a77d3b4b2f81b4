#!/usr/bin/env bash
# Benchmark: a base snapshot of a database where one table holds most rows, against
# `pg_dump -Fd -j JOBS` of the same database with the same job count, in one run.
#   bash tests/bench/base_vs_pg_dump.sh [BIG_ROWS]   (default 6000000, about 1.3 GB of table)
# Goal: walship base time <= 1.2 x pg_dump time.
# The database: "activities" (BIG_ROWS wide rows: numeric, jsonb, an array, text) and seven
# small tables (each 1/100 of it). walship's time runs from the agent's --create start (slot,
# exported snapshot, every table copied, compressed and stored with its checksum, schema,
# manifest) to its "base snapshot ... complete" log line; pg_dump's is the whole command with
# its default compression. Both read from the same warm server. The bench also checks that
# the base restores: every table equal to the source as row::text, by md5 of the sorted rows.
# JOBS: SNAPSHOT_JOBS (default 4). Kept: BENCH_KEEP=1 leaves BENCH_DIR (default
# /tmp/walship-bench-base).
source "$(dirname "$0")/lib.sh"
big_rows=${1:-6000000}
small_rows=$((big_rows / 100))
dir=${BENCH_DIR:-/tmp/walship-bench-base}
jobs=${SNAPSHOT_JOBS:-4}
[[ -x $agent_bin && -x $replay_bin ]] || { echo "build first: no $agent_bin or $replay_bin" >&2; exit 1; }

start_cluster "$dir" max_wal_senders=10
src_conn=$bench_conn
psql_bench postgres -c "CREATE DATABASE crm"
{
  echo "CREATE TYPE stage AS ENUM ('lead', 'qualified', 'won', 'lost');"
  echo "CREATE TABLE activities (id bigint PRIMARY KEY, account_id bigint NOT NULL,
    kind stage, amount numeric(14,2), at timestamptz, tags text[], detail jsonb, note text);"
  echo "INSERT INTO activities SELECT g, g % 50000, (enum_range(NULL::stage))[1 + g % 4],
    g * 1.37, timestamptz '2025-01-01' + g * interval '7 s', ARRAY['t' || g % 7, 'x'],
    jsonb_build_object('n', g, 'src', 'bench', 'ok', g % 3 = 0),
    repeat(md5(g::text), 1 + g % 3) FROM generate_series(1, $big_rows) g;"
  echo "CREATE INDEX activities_account ON activities (account_id);"
  for t in 1 2 3 4 5 6 7; do
    echo "CREATE TABLE small_$t (id bigint PRIMARY KEY, name text UNIQUE, value numeric, at timestamptz);"
    echo "INSERT INTO small_$t SELECT g, 'name ' || g, g / 3.0, now() FROM generate_series(1, $small_rows) g;"
  done
  echo "CREATE PUBLICATION walship FOR ALL TABLES;"
  echo "VACUUM ANALYZE; CHECKPOINT;"
} | psql_bench crm
echo "database: $(psql_bench crm -c "SELECT pg_size_pretty(pg_database_size('crm'))"), activities $(psql_bench crm -c "SELECT pg_size_pretty(pg_table_size('activities'))") ($big_rows rows), 7 tables of $small_rows rows"
# Warm the cache for both sides alike.
psql_bench crm -c "SELECT count(*) FROM activities" >/dev/null

# pg_dump -Fd -j first (its default compression).
rm -rf "$dir/dump"
t0=$(now_s)
pg_dump -d "$src_conn dbname=crm" -Fd -j "$jobs" -f "$dir/dump"
t_dump=$(elapsed "$t0" "$(now_s)")
dump_bytes=$(du -sb "$dir/dump" | cut -f1)

# walship: the first --create start takes the base snapshot.
rm -rf "$dir/store" "$dir/work"; mkdir -p "$dir/store" "$dir/work"
t0=$(now_s)
"$agent_bin" --source "$src_conn dbname=crm" --slot walship --publication walship --create \
  --object-store "file://$dir/store" --work-dir "$dir/work" --snapshot-jobs "$jobs" \
  --log-level info 2>"$dir/agent.log" &
agent_pid=$!
for _ in $(seq 1 36000); do
  grep -q 'base snapshot .* complete' "$dir/agent.log" && break
  kill -0 $agent_pid 2>/dev/null || { cat "$dir/agent.log" >&2; echo "the agent exited before its base" >&2; exit 1; }
  sleep 0.05
done
t_base=$(elapsed "$t0" "$(now_s)")
kill -TERM $agent_pid; wait $agent_pid || true
grep -q 'base snapshot .* complete' "$dir/agent.log" || { cat "$dir/agent.log" >&2; exit 1; }
grep -E 'split|chunk|base snapshot' "$dir/agent.log" | sed 's/^/  agent: /' | head -20
base_bytes=$(du -sb "$dir/store" | cut -f1)

# The base restores to what the source holds.
psql_bench postgres -c "CREATE DATABASE restored"
t0=$(now_s)
"$replay_bin" restore --object-store "file://$dir/store" --target "$src_conn dbname=restored" \
  --jobs "$jobs" 2>"$dir/replay.log" || { cat "$dir/replay.log" >&2; exit 1; }
t_restore=$(elapsed "$t0" "$(now_s)")
tables="activities small_1 small_2 small_3 small_4 small_5 small_6 small_7"
for t in $tables; do
  sql="SELECT count(*) || ' ' || md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) FROM $t x"
  a=$(psql_bench crm -c "$sql"); b=$(psql_bench restored -c "$sql")
  [[ $a == "$b" ]] || { echo "table $t differs after restore: source $a, restored $b" >&2; exit 1; }
done

echo
echo "pg_dump -Fd -j $jobs:        $t_dump s  ($((dump_bytes >> 20)) MiB)"
echo "walship base (--snapshot-jobs $jobs): $t_base s  ($((base_bytes >> 20)) MiB)"
echo "restore of the base (--jobs $jobs): $t_restore s; every table equal as row::text"
awk -v a="$t_base" -v b="$t_dump" 'BEGIN { printf "ratio (walship/pg_dump):   %.2f  (goal <= 1.2)\n", a / b }'
[[ -n ${BENCH_KEEP:-} ]] || { stop_cluster; trap - EXIT; rm -rf "$dir"; }
