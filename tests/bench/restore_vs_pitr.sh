#!/usr/bin/env bash
# Benchmark: restoring the same data and change window with walship-replay (base snapshot by
# COPY + change segments) and with PostgreSQL's physical PITR (pg_basebackup -X none +
# archived WAL + recovery_target_lsn), in one run. Prints both times and the ratio.
#   bash tests/bench/restore_vs_pitr.sh [BASE_ROWS] [CHANGE_ROWS]   (default 2000000 500000)
# Goal: walship time <= 1.5 x physical PITR time.
# walship: the agent's first --create start takes the base snapshot; the workload then runs
# and ends with a mark, and the restore goes to that mark into an empty database of a second
# cluster. Physical: the base backup is taken before the workload, the WAL is archived with
# cp, and recovery replays to the mark's LSN; the time runs from copying the backup to
# promotion.
source "$(dirname "$0")/lib.sh"
base_rows=${1:-2000000}
change_rows=${2:-500000}
dir=${BENCH_DIR:-/tmp/walship-bench-restore}
jobs=${RESTORE_JOBS:-4}
[[ -x $agent_bin && -x $replay_bin ]] || { echo "build first: no $agent_bin or $replay_bin" >&2; exit 1; }

archive=$dir/archive
start_cluster "$dir" archive_mode=on "archive_command='cp %p $archive/%f'" max_wal_senders=10
mkdir -p "$archive"; chmod 777 "$archive"
src_conn=$bench_conn
psql_bench postgres -c "CREATE DATABASE crm"
psql_bench crm <<SQL
CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text, created timestamptz);
CREATE TABLE deals (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers(id),
                    amount numeric(12,2), stage text, note text, at timestamptz);
CREATE INDEX deals_customer ON deals (customer_id);
CREATE INDEX deals_stage ON deals (stage);
INSERT INTO customers (name, email, created) SELECT 'customer ' || g, 'c' || g || '@example.com',
  timestamptz '2025-01-01' + g * interval '1 s' FROM generate_series(1, $((base_rows / 4))) g;
INSERT INTO deals (customer_id, amount, stage, note, at) SELECT 1 + g % $((base_rows / 4)), g * 0.75,
  (ARRAY['lead','won','lost'])[1 + g % 3], repeat('x', g % 50), timestamptz '2025-01-01' + g * interval '1 s'
  FROM generate_series(1, $((base_rows * 3 / 4))) g;
CREATE PUBLICATION walship FOR ALL TABLES;
CHECKPOINT;
SQL
echo "base data: $base_rows rows, $(psql_bench crm -c "SELECT pg_size_pretty(pg_database_size('crm'))")"

# Physical base backup, before the workload.
rm -rf "$dir/backup"; mkdir -p "$dir/backup"; [[ $(id -u) == 0 ]] && chown postgres: "$dir/backup"
as_pg pg_basebackup -d "$src_conn" -D "$dir/backup/data" -X none -c fast --no-sync

# walship: the first start creates the slot and takes the base snapshot.
rm -rf "$dir/store" "$dir/work"; mkdir -p "$dir/store" "$dir/work"
"$agent_bin" --source "$src_conn dbname=crm" --slot walship --publication walship --create \
  --object-store "file://$dir/store" --work-dir "$dir/work" --log-level warning &
agent_pid=$!
for _ in $(seq 1 600); do
  compgen -G "$dir/store/*/walship/base/*/manifest.pb" >/dev/null && break
  kill -0 $agent_pid 2>/dev/null || { echo "the agent exited before writing a base snapshot" >&2; exit 1; }
  sleep 1
done
compgen -G "$dir/store/*/walship/base/*/manifest.pb" >/dev/null ||
  { echo "no base snapshot after 10 minutes: does this walship-agent take bases on --create?" >&2; exit 1; }

# The change window: updates, inserts and deletes in 10k-row transactions, then a mark.
t0=$(now_s)
for ((lo = 1; lo <= change_rows / 2; lo += 10000)); do
  echo "UPDATE deals SET amount = amount + 1, stage = 'won' WHERE id BETWEEN $lo AND $((lo + 9999));"
  echo "INSERT INTO deals (customer_id, amount, stage, note, at) SELECT 1 + g % 1000, g, 'lead', 'new',
        now() FROM generate_series(1, 8000) g;"
  echo "DELETE FROM deals WHERE id BETWEEN $((lo + 200000)) AND $((lo + 201999));"
done | psql_bench crm
mark_lsn=$(psql_bench crm -c "SELECT pg_logical_emit_message(true, 'walship', 'mark:bench-end')")
end_lsn=$(psql_bench crm -c "SELECT pg_current_wal_lsn()")
psql_bench crm -c "SELECT pg_switch_wal()" >/dev/null
echo "workload: $(elapsed "$t0" "$(now_s)") s, mark at $mark_lsn"
for _ in $(seq 1 600); do
  "$replay_bin" list --object-store "file://$dir/store" 2>/dev/null | grep -q 'mark "bench-end"' && break
  sleep 1
done
kill -TERM $agent_pid; wait $agent_pid || true
# Every WAL file up to the mark must be archived before physical recovery can reach it.
for _ in $(seq 1 120); do
  last=$(psql_bench crm -c "SELECT last_archived_wal FROM pg_stat_archiver")
  want=$(psql_bench crm -c "SELECT pg_walfile_name('$end_lsn')")
  [[ -n $last && ! $last < $want ]] && break
  sleep 1
done
stop_cluster; trap - EXIT

# Target cluster for walship, started before the timer (an empty server is the starting point).
restore_dir=$dir/target
start_cluster "$restore_dir"
psql_bench postgres -c "CREATE DATABASE restored"
t0=$(now_s)
"$replay_bin" restore --object-store "file://$dir/store" --target "$bench_conn dbname=restored" \
  --to-mark bench-end --jobs "$jobs" 2>"$dir/replay.log" || { cat "$dir/replay.log" >&2; exit 1; }
t_walship=$(elapsed "$t0" "$(now_s)")
cat "$dir/replay.log" >&2
# The pre-flight (every object read and checked before the first write), from the restore's log.
preflight=$(grep -o 'pre-flight: .*' "$dir/replay.log" | tail -n1 || true)
walship_rows=$(psql_bench restored -c "SELECT count(*) FROM deals")
stop_cluster; trap - EXIT

# Physical PITR to the same point.
pitr=$dir/pitr
pitr_to "$pitr" "$dir/backup/data" "$archive" "$mark_lsn"
t_pitr=$pitr_seconds
pitr_rows=$(psql -X -At "host=$pitr port=$bench_port user=postgres dbname=crm" -c "SELECT count(*) FROM deals")
as_pg "$pgbin/pg_ctl" -D "$pitr/data" -m immediate -w stop >/dev/null

echo
echo "deals rows: walship $walship_rows, physical $pitr_rows"
echo "walship-replay restore: $t_walship s"
echo "  of which ${preflight:-pre-flight: not reported (an older walship-replay)}"
echo "physical PITR:          $t_pitr s"
awk -v a="$t_walship" -v b="$t_pitr" 'BEGIN { printf "ratio (walship/PITR):   %.2f  (goal <= 1.5)\n", a / b }'
[[ $walship_rows == "$pitr_rows" ]] || { echo "row counts differ" >&2; exit 1; }
