#!/usr/bin/env bash
# Benchmark: restoring a realistic CRM day (realistic_day_lib.sh: ~2 M base rows, ~1.3 M row
# changes over 9 tables in ~325 k transactions of 1-100 rows plus 10k-row batch jobs, TOASTed
# ticket bodies, a keyless REPLICA IDENTITY FULL table, an ALTER TABLE, a TRUNCATE) with
# walship-replay against PostgreSQL's physical PITR of the same day, as restore_vs_pitr.sh does:
# the agent's --create start takes the base before the day, pg_basebackup is taken before the
# day with the WAL archived by cp, and both restore to the day's end mark. Fails unless every
# table of the walship restore equals the source at the mark, row for row (md5 of row::text).
#   SCALE=1.0 bash tests/bench/realistic_day.sh     (SCALE=0.1 for a quick run)
# Env: BENCH_DIR (default /tmp/walship-bench-day), RESTORE_JOBS (4), BENCH_KEEP=1 keeps the data.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/realistic_day_lib.sh"
dir=${BENCH_DIR:-/tmp/walship-bench-day}
jobs=${RESTORE_JOBS:-4}
[[ -x $agent_bin && -x $replay_bin ]] || { echo "build first: no $agent_bin or $replay_bin" >&2; exit 1; }

archive=$dir/archive agent_pid="" phases=()
phase() { phases+=("$(printf '%-37s %8s s' "$1" "$2")"); echo "phase $1: $2 s"; }
cleanup() {
  if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then kill -TERM "$agent_pid"; wait "$agent_pid" || true; fi
  local d
  for d in "$dir/pg/data" "$dir/target/pg/data" "$dir/pitr/data"; do
    [[ -f $d/postmaster.pid ]] && as_pg "$pgbin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
  done
  [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$dir/pg/data" "$dir/target/pg/data" "$dir/pitr/data" "$dir/backup" \
    "$archive" "$dir/store" "$dir/work"
}
# Starts a stopped data directory again (the source, for the rows that differ).
pg_start_dir() {
  as_pg "$pgbin/pg_ctl" -D "$1" -l "$1/../restart.log" -w -t 600 \
    -o "-c listen_addresses='' -c unix_socket_directories=$2 -c port=$bench_port -c wal_level=logical -c archive_mode=off" start >/dev/null
}

# day_counters CONN: relname ins upd del (to subtract two readings).
day_counters() {
  day_sql "$1" -F ' ' -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables
    WHERE schemaname = 'public' ORDER BY relname"
}

# day_row_hashes CONN OUTDIR: per table the sorted md5 of every row's text (row::text), one
# file each; a table's checksum is the md5 of its file, its row count the file's lines.
day_row_hashes() {
  local t; mkdir -p "$2"
  for t in $day_tables; do
    day_sql "$1" -c "COPY (SELECT md5(t::text) FROM $t t) TO STDOUT" | LC_ALL=C sort >"$2/$t"
  done
  day_sql "$1" >"$2/_schema" <<'SQL'  # and the schema: columns, defaults, indexes, constraints, enums
SELECT attrelid::regclass || '.' || attname || ' ' || format_type(atttypid, atttypmod) || coalesce(' DEFAULT ' || pg_get_expr(adbin, adrelid), '')
  FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum JOIN pg_class c ON c.oid = attrelid
  WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND attnum > 0 AND NOT attisdropped
UNION ALL SELECT relname || ' REPLICA IDENTITY ' || relreplident::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT enumtypid::regtype || ' ' || string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum GROUP BY enumtypid ORDER BY 1
SQL
}

# day_rows_with_hashes CONN TABLE HASH...: those rows' text, long hex runs shortened.
day_rows_with_hashes() {
  local conn=$1 table=$2; shift 2
  local list; list=$(printf "'%s'," "$@"); list=${list%,}
  day_sql "$conn" -c "SELECT regexp_replace(t::text, '([0-9a-f]{16})[0-9a-f]{48,}', '\1...', 'g')
    FROM $table t WHERE md5(t::text) IN ($list) ORDER BY 1"
}

echo "realistic day: SCALE=$day_scale, bench dir $dir, restore jobs $jobs"
start_cluster "$dir" archive_mode=on "archive_command='cp %p $archive/%f'" max_wal_senders=10; trap cleanup EXIT
mkdir -p "$archive"; chmod 777 "$archive"
src_conn=$bench_conn src_dir=$dir/pg
t0=$(now_s)
psql_bench postgres -c "CREATE DATABASE crm"
day_schema "$src_conn dbname=crm"
day_base "$src_conn dbname=crm"
base_rows=$(psql_bench crm -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE schemaname = 'public'")
echo "base data: $base_rows rows, $(psql_bench crm -c "SELECT pg_size_pretty(pg_database_size('crm'))")"
phase "base data (schema, rows, indexes)" "$(elapsed "$t0" "$(now_s)")"

# Physical base backup, before the day.
t0=$(now_s)
rm -rf "$dir/backup"; mkdir -p "$dir/backup"; [[ $(id -u) == 0 ]] && chown postgres: "$dir/backup"
as_pg pg_basebackup -d "$src_conn" -D "$dir/backup/data" -X none -c fast --no-sync
phase "pg_basebackup" "$(elapsed "$t0" "$(now_s)")"

# walship: the first start creates the slot and takes the base snapshot.
t0=$(now_s)
rm -rf "$dir/store" "$dir/work"; mkdir -p "$dir/store" "$dir/work"
"$agent_bin" --source "$src_conn dbname=crm" --slot walship --publication walship --create \
  --object-store "file://$dir/store" --work-dir "$dir/work" --log-level warning 2>"$dir/agent.log" &
agent_pid=$!
for _ in $(seq 1 1200); do
  compgen -G "$dir/store/*/walship/base/*/manifest.pb" >/dev/null && break
  kill -0 $agent_pid 2>/dev/null || { cat "$dir/agent.log" >&2; echo "FAIL: the agent exited before writing a base snapshot" >&2; exit 1; }
  sleep 1
done
compgen -G "$dir/store/*/walship/base/*/manifest.pb" >/dev/null || { echo "FAIL: no base snapshot after 20 minutes" >&2; exit 1; }
phase "agent base snapshot" "$(elapsed "$t0" "$(now_s)")"

# The day, then the mark; the source's rows are read right after the mark.
day_counters "$src_conn dbname=crm" >"$dir/counters.before"
start_lsn=$(psql_bench crm -c "SELECT pg_current_wal_lsn()")
t0=$(now_s)
day_workload "$src_conn dbname=crm"
mark_lsn=$(psql_bench crm -c "SELECT pg_logical_emit_message(true, 'walship', 'mark:day-end')")
end_lsn=$(psql_bench crm -c "SELECT pg_current_wal_lsn()")
t_mark=$(now_s)
phase "workload (the day)" "$(elapsed "$t0" "$t_mark")"
psql_bench crm -c "SELECT pg_switch_wal()" >/dev/null
t0=$(now_s)
day_row_hashes "$src_conn dbname=crm" "$dir/hashes/source"
phase "source row hashes at the mark" "$(elapsed "$t0" "$(now_s)")"
day_counters "$src_conn dbname=crm" >"$dir/counters.after"
wal_bytes=$(psql_bench crm -c "SELECT pg_size_pretty(pg_wal_lsn_diff('$end_lsn', '$start_lsn'))")
echo "the day: WAL $wal_bytes, mark at $mark_lsn; row changes by table (pg_stat_user_tables):"
LC_ALL=C join "$dir/counters.before" "$dir/counters.after" | awk '{ i = $5 - $2; u = $6 - $3; d = $7 - $4
  printf "  %-16s %9d ins %8d upd %7d del\n", $1, i, u, d; I += i; U += u; D += d; if ($1 == "activities") A = i + u + d }
  END { printf "  %-16s %9d ins %8d upd %7d del = %d changes (activities %.1f %%)\n", "total", I, U, D, I + U + D, 100 * A / (I + U + D) }'

for _ in $(seq 1 3600); do
  "$replay_bin" list --object-store "file://$dir/store" 2>/dev/null | grep -q 'mark "day-end"' && break
  kill -0 $agent_pid 2>/dev/null || { cat "$dir/agent.log" >&2; echo "FAIL: the agent exited during the day" >&2; exit 1; }
  sleep 1
done
"$replay_bin" list --object-store "file://$dir/store" 2>/dev/null | grep -q 'mark "day-end"' ||
  { echo "FAIL: the mark is not in the store after an hour" >&2; exit 1; }
phase "agent: mark stored (after the mark)" "$(elapsed "$t_mark" "$(now_s)")"
kill -TERM $agent_pid; wait $agent_pid || true; agent_pid=""
echo "store: $(du -sh "$dir"/store/*/walship/base | cut -f1) base, $(du -sh "$dir"/store/*/walship/wal | cut -f1) change segments"
# Every WAL file up to the mark must be archived before physical recovery can reach it.
for _ in $(seq 1 600); do
  last=$(psql_bench crm -c "SELECT last_archived_wal FROM pg_stat_archiver")
  want=$(psql_bench crm -c "SELECT pg_walfile_name('$end_lsn')")
  [[ -n $last && ! $last < $want ]] && break
  sleep 1
done
stop_cluster; trap cleanup EXIT

# walship: the target cluster is started before the timer (an empty server is the starting point).
start_cluster "$dir/target"; trap cleanup EXIT
psql_bench postgres -c "CREATE DATABASE restored"
t0=$(now_s)
replay_rc=0
timed_rss "$dir/replay.rss" "$replay_bin" restore --object-store "file://$dir/store" \
  --target "$bench_conn dbname=restored" --to-mark day-end --jobs "$jobs" >"$dir/replay.out" 2>"$dir/replay.log" || replay_rc=$?
t_walship=$(elapsed "$t0" "$(now_s)")
phase "walship-replay restore" "$t_walship"
rss_mb=$(( $(tail -n1 "$dir/replay.rss" | tr -dc 0-9) / 1024 ))
[[ $replay_rc == 0 ]] || { echo "walship-replay restore FAILED (exit $replay_rc):" >&2; tail -n 30 "$dir/replay.log" >&2; }
t0=$(now_s)
day_row_hashes "$bench_conn dbname=restored" "$dir/hashes/walship"
phase "walship row hashes" "$(elapsed "$t0" "$(now_s)")"
mkdir -p "$dir/diff"
for t in $day_tables; do  # the rows only the restore has, read while it is up
  mapfile -t extra < <(LC_ALL=C comm -13 "$dir/hashes/source/$t" "$dir/hashes/walship/$t" | uniq | head -n 5)
  if ((${#extra[@]})); then day_rows_with_hashes "$bench_conn dbname=restored" "$t" "${extra[@]}" >"$dir/diff/$t.walship"; fi
done
stop_cluster; trap cleanup EXIT

# Physical PITR to the same point.
pitr=$dir/pitr
pitr_to "$pitr" "$dir/backup/data" "$archive" "$mark_lsn"
t_pitr=$pitr_seconds
phase "physical PITR" "$t_pitr"
day_row_hashes "host=$pitr port=$bench_port user=postgres dbname=crm" "$dir/hashes/pitr"
as_pg "$pgbin/pg_ctl" -D "$pitr/data" -m immediate -w stop >/dev/null

# Row-for-row equality per table.
echo
printf '%-16s %10s %10s %-8s %10s %-6s\n' table source walship result pitr result
bad=() pitr_bad=()
n() { [[ -f $1 ]] && wc -l <"$1" || echo -; }
verdict() { cmp -s "$dir/hashes/source/$t" "$1" && echo OK || echo DIFF; }
for t in $day_tables; do
  w=$(verdict "$dir/hashes/walship/$t") p=$(verdict "$dir/hashes/pitr/$t")
  printf '%-16s %10s %10s %-8s %10s %-6s\n' "$t" "$(n "$dir/hashes/source/$t")" "$(n "$dir/hashes/walship/$t")" "$w" \
    "$(n "$dir/hashes/pitr/$t")" "$p"
  [[ $w == OK ]] || bad+=("$t")
  [[ $p == OK ]] || pitr_bad+=("$t")
done
if cmp -s "$dir/hashes/source/_schema" "$dir/hashes/walship/_schema"; then
  echo "schema (columns, defaults, indexes, constraints, replica identity, enums): walship restore equal"
else
  echo "WARNING: the walship restore's schema differs from the source's (< source, > walship):"
  { diff "$dir/hashes/source/_schema" "$dir/hashes/walship/_schema" || true; } | grep '^[<>]' | head -n 20 | sed 's/^/  /' || true
fi
cmp -s "$dir/hashes/source/_schema" "$dir/hashes/pitr/_schema" || echo "NOTE: the physical PITR's schema differs from the source's"
if ((${#bad[@]})); then  # show how they differ: the source's rows come from the stopped source, started again
  src_up=0; pg_start_dir "$src_dir/data" "$src_dir" && src_up=1 || echo "(the source did not start again: $src_dir/restart.log)"
  for t in "${bad[@]}"; do
    echo; echo "DIFF in $t: $(LC_ALL=C comm -23 "$dir/hashes/source/$t" "$dir/hashes/walship/$t" | wc -l) row(s) only in the source," \
      "$(LC_ALL=C comm -13 "$dir/hashes/source/$t" "$dir/hashes/walship/$t" | wc -l) only in the walship restore; first ones:"
    mapfile -t missing < <(LC_ALL=C comm -23 "$dir/hashes/source/$t" "$dir/hashes/walship/$t" | uniq | head -n 5)
    if ((src_up && ${#missing[@]})); then day_rows_with_hashes "$src_conn dbname=crm" "$t" "${missing[@]}" | sed 's/^/  source:  /'; fi
    if [[ -f $dir/diff/$t.walship ]]; then sed 's/^/  walship: /' "$dir/diff/$t.walship"; fi
  done
  if ((src_up)); then as_pg "$pgbin/pg_ctl" -D "$src_dir/data" -m immediate -w stop >/dev/null; fi
fi

echo
echo "phases:"; printf '  %s\n' "${phases[@]}"
echo "replay log lines about folding and statements ($dir/replay.log):"
grep -iE 'fold|statement' "$dir/replay.log" | sed 's/^/  /' || echo "  (none)"
grep -E 'applied [0-9]+ transactions' "$dir/replay.log" | tail -n1 | sed 's/^/  /' || true
sed 's/^/  /' "$dir/replay.out"
echo
echo "walship-replay restore: $t_walship s (exit $replay_rc), peak RSS $rss_mb MiB"
echo "physical PITR:          $t_pitr s"
awk -v a="$t_walship" -v b="$t_pitr" 'BEGIN { printf "ratio (walship/PITR):   %.2f\n", a / b }'
((${#pitr_bad[@]} == 0)) || echo "NOTE: the physical PITR differs from the source in: ${pitr_bad[*]} (a bench problem?)"
if [[ $replay_rc != 0 ]] || ((${#bad[@]})); then
  echo "RESULT: FAIL (restore exit $replay_rc; tables that differ: ${bad[*]:-none})"; exit 1
fi
echo "RESULT: PASS (every table equals the source at the mark)"
