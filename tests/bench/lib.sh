# Shared helpers for the benchmark scripts: a throw-away PostgreSQL 15 cluster on a Unix
# socket (run as the unprivileged postgres user when we are root), timing, figures.
# Source it; it defines start_cluster, stop_cluster, psql_bench, now_s, create_events_db,
# run_events_workload.
set -euo pipefail

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${WALSHIP_BUILD_DIR:-$bench_repo/build}
agent_bin=$build_dir/agent/walship-agent
replay_bin=$build_dir/replay/walship-replay
pgbin=${WALSHIP_PG_BINDIR:-/usr/lib/postgresql/15/bin}
bench_port=${BENCH_PORT:-55432}

as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# start_cluster DIR [extra -c settings...]
start_cluster() {
  bench_dir=$1; shift
  rm -rf "$bench_dir"; mkdir -p "$bench_dir/pg"; chmod 755 "$bench_dir" "$bench_dir/pg"
  [[ $(id -u) == 0 ]] && chown postgres: "$bench_dir/pg"
  as_pg "$pgbin/initdb" -D "$bench_dir/pg/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >/dev/null
  local opts="-c listen_addresses='' -c unix_socket_directories=$bench_dir/pg -c port=$bench_port"
  opts+=" -c wal_level=logical -c max_wal_size=4GB -c shared_buffers=256MB"
  for s in "$@"; do opts+=" -c $s"; done
  as_pg "$pgbin/pg_ctl" -D "$bench_dir/pg/data" -l "$bench_dir/pg/server.log" -w -t 60 -o "$opts" start >/dev/null
  bench_conn="host=$bench_dir/pg port=$bench_port user=postgres"
  trap stop_cluster EXIT
}

stop_cluster() {
  [[ -n ${bench_dir:-} && -d $bench_dir/pg/data ]] &&
    as_pg "$pgbin/pg_ctl" -D "$bench_dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
}

psql_bench() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -At "$bench_conn dbname=$db" "$@"; }

# create_events_db SLOT...: database crm with the benchmark table, a publication for all
# tables, and one pgoutput slot per name (all created before the workload, so each slot
# decodes exactly the same changes).
create_events_db() {
  psql_bench postgres -c "CREATE DATABASE crm"
  psql_bench crm -c "CREATE TABLE events (id bigint PRIMARY KEY, customer text,
    amount numeric(12,2), at timestamptz, payload jsonb, note text)" \
    -c "CREATE PUBLICATION walship FOR ALL TABLES"
  local slot
  for slot in "$@"; do
    psql_bench crm -c "SELECT 'slot' FROM pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
  done
}

# run_events_workload CHANGES: half inserts, three tenths updates, the rest deletes, in
# transactions of 10k rows. Sets end_lsn to the WAL position after it.
run_events_workload() {
  local changes=$1 lo hi
  local inserts=$((changes / 2)) updates=$((changes * 3 / 10))
  local deletes=$((changes - inserts - updates))
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
}

# Peak resident memory of a command, in MiB, from GNU time (written to $1).
timed_rss() { local out=$1; shift; /usr/bin/time -f '%M' -o "$out" "$@"; }

# pitr_to DIR BACKUP_DATA ARCHIVE LSN: physical PITR, timed from copying the base backup
# BACKUP_DATA into DIR/data to promotion at LSN (WAL from ARCHIVE by cp); the server stays up
# on socket DIR. Sets pitr_seconds and pitr_conn (no dbname).
pitr_to() {
  local pdir=$1 backup=$2 wal=$3 lsn=$4 t0
  rm -rf "$pdir"; mkdir -p "$pdir"; chmod 755 "$pdir"; [[ $(id -u) == 0 ]] && chown postgres: "$pdir"
  t0=$(now_s)
  as_pg cp -a "$backup" "$pdir/data"
  as_pg touch "$pdir/data/recovery.signal"
  cat >>"$pdir/data/postgresql.auto.conf" <<CONF
restore_command = 'cp $wal/%f %p'
recovery_target_lsn = '$lsn'
recovery_target_action = 'promote'
archive_mode = off
CONF
  as_pg "$pgbin/pg_ctl" -D "$pdir/data" -l "$pdir/server.log" -w -t 3600 \
    -o "-c listen_addresses='' -c unix_socket_directories=$pdir -c port=$bench_port" start >/dev/null
  pitr_conn="host=$pdir port=$bench_port user=postgres"
  until [[ $(psql -X -At "$pitr_conn dbname=postgres" -c "SELECT pg_is_in_recovery()") == f ]]; do sleep 0.1; done
  pitr_seconds=$(elapsed "$t0" "$(now_s)")
}

# start_kafka_mock DIR: librdkafka's mock cluster (3 brokers) as its own process, its stdin a
# FIFO held open by a sleeping writer. Sets mock_pid, holder_pid and bootstrap.
start_kafka_mock() {
  local mdir=$1
  rm -f "$mdir/mock.ctl"; mkfifo "$mdir/mock.ctl"
  "$mock_bin" 3 <"$mdir/mock.ctl" >"$mdir/mock.out" 2>"$mdir/mock.err" &
  mock_pid=$!
  sleep 1000000 >"$mdir/mock.ctl" &
  holder_pid=$!
  bootstrap=""
  for _ in $(seq 100); do
    bootstrap=$(sed -n 's/^BOOTSTRAP //p' "$mdir/mock.out")
    [[ -n $bootstrap ]] && break
    sleep 0.1
  done
  [[ -n $bootstrap ]] || { echo "mock cluster did not start: $(cat "$mdir/mock.err")" >&2; exit 1; }
  echo "mock Kafka cluster: $bootstrap"
}
