#!/usr/bin/env bash
# walship quick start: install, build, and show a point-in-time restore end to end.
#
#   bash docker/quickstart.sh [--skip-deps] [--skip-build] [--keep]
#
# 1. installs the dependencies (docker/install_deps.sh) and builds build/ (Release);
# 2. starts a throw-away PostgreSQL 15 under /tmp/walship-demo (Unix socket only) with a small
#    CRM database (customers, contacts, deals);
# 3. runs walship-agent, which streams every change to a local object store;
# 4. runs a workload, notes the time and LSN, then does a bad `DELETE FROM deals`;
# 5. restores the CRM as it was just before the DELETE (by LSN and by time) into new databases
#    and checks that every table equals the source at that point, row for row, as text.
# --keep leaves PostgreSQL running afterwards. Everything lives in /tmp/walship-demo.
# WALSHIP_BUILD_DIR picks another build directory (default: build/).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
skip_deps=0
skip_build=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --skip-deps) skip_deps=1 ;;
    --skip-build) skip_build=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "quickstart.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

demo=/tmp/walship-demo
pgbin=${WALSHIP_PG_BINDIR:-/usr/lib/postgresql/15/bin}
port=54329
store_url=file://$demo/store
build_dir=${WALSHIP_BUILD_DIR:-$repo/build}
agent_bin=$build_dir/agent/walship-agent
replay_bin=$build_dir/replay/walship-replay
tables=(customers contacts deals)
start_all=$SECONDS

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\n\033[1;31mquickstart FAILED: %s\033[0m\n' "$*" >&2; exit 1; }
# Server commands run as the unprivileged postgres user when we are root (it refuses root).
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
conninfo() { echo "host=$demo/pg port=$port user=postgres dbname=$1"; }
sql() { local db=$1; shift; "$pgbin/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$(conninfo "$db")" "$@"; }
# dump_tables DB DIR: every table as sorted row text, the form a restore must reproduce exactly.
dump_tables() {
  mkdir -p "$2"
  for t in "${tables[@]}"; do
    sql "$1" -c "COPY (SELECT t::text FROM $t t ORDER BY 1) TO STDOUT" >"$2/$t.txt"
  done
}

stop_demo() {
  if [[ -f $demo/agent.pid ]]; then
    local pid
    pid=$(cat "$demo/agent.pid")
    if kill -0 "$pid" 2>/dev/null && grep -q walship-agent "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$demo/agent.pid"
  fi
  if [[ -f $demo/pg/data/postmaster.pid ]]; then
    as_pg "$pgbin/pg_ctl" -D "$demo/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}
on_exit() {
  local rc=$?
  if [[ $rc != 0 && -f $demo/agent.log ]]; then
    echo "--- last lines of $demo/agent.log:" >&2
    tail -n 30 "$demo/agent.log" >&2 || true
  fi
  if [[ $keep == 0 || $rc != 0 ]]; then stop_demo; fi
}
trap on_exit EXIT

# --- 1. dependencies and build ----------------------------------------------------------------
if [[ $skip_deps == 0 ]]; then
  step "installing dependencies"
  bash "$repo/docker/install_deps.sh"
fi
if [[ $skip_build == 0 ]]; then
  step "building walship (Release) in $build_dir"
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DWALSHIP_SANITIZE=OFF -DWALSHIP_BUILD_TESTS=OFF >/dev/null
  ninja -C "$build_dir" agent/walship-agent replay/walship-replay
fi
[[ -x $agent_bin ]] || die "no $agent_bin (build failed?)"
[[ -x $replay_bin ]] || die "no $replay_bin (build failed?)"

# --- 2. a throw-away PostgreSQL with a CRM database ----------------------------------------------
step "starting a throw-away PostgreSQL 15 in $demo/pg"
stop_demo
rm -rf "$demo"
mkdir -p "$demo/pg" "$demo/store"
chmod 755 "$demo" "$demo/pg"
[[ $(id -u) == 0 ]] && chown postgres: "$demo/pg"
as_pg "$pgbin/initdb" -D "$demo/pg/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
  --no-sync --no-instructions >/dev/null
as_pg "$pgbin/pg_ctl" -D "$demo/pg/data" -l "$demo/pg/server.log" -w -t 60 \
  -o "-c listen_addresses='' -c unix_socket_directories=$demo/pg -c port=$port -c wal_level=logical" \
  start >/dev/null
sql postgres -c "CREATE DATABASE crm"

cat >"$demo/schema.sql" <<'SQL'
CREATE TYPE deal_stage AS ENUM ('lead', 'qualified', 'proposal', 'won', 'lost');
CREATE TABLE customers (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  email      text UNIQUE,
  country    char(2),
  created_at timestamptz NOT NULL DEFAULT now(),
  attrs      jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE contacts (
  id          bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  full_name   text NOT NULL,
  phone       text,
  is_primary  boolean NOT NULL DEFAULT false,
  updated_at  timestamptz
);
CREATE TABLE deals (
  id          bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  title       text NOT NULL,
  amount      numeric(12, 2) NOT NULL,
  currency    char(3) NOT NULL DEFAULT 'EUR',
  stage       deal_stage NOT NULL DEFAULT 'lead',
  probability real,
  closes_on   date,
  created_at  timestamptz NOT NULL DEFAULT now(),
  notes       jsonb
);
SQL
sql crm -f "$demo/schema.sql"
# The seed rows exist before the agent starts: its first start copies them into a base
# snapshot, then streams every change after it.
sql crm <<'SQL'
INSERT INTO customers (name, email, country, created_at, attrs)
SELECT 'Customer ' || g, 'customer' || g || '@example.com', (ARRAY['DE', 'FR', 'US', 'JP'])[1 + g % 4],
       timestamptz '2024-01-01 09:00:00.123456+00' + g * interval '37 minutes',
       jsonb_build_object('tier', (ARRAY['gold', 'silver', 'bronze'])[1 + g % 3], 'seats', g % 50)
FROM generate_series(1, 200) g;
INSERT INTO customers (name, email, country, attrs)
VALUES ('Zoë Ångström', NULL, NULL, '{"note": "unicode, NULLs and \"quotes\"", "tags": []}');
INSERT INTO contacts (customer_id, full_name, phone, is_primary, updated_at)
SELECT 1 + g % 200, 'Contact ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE '+49 30 ' || g END,
       g % 2 = 0, now()
FROM generate_series(1, 400) g;
INSERT INTO deals (customer_id, title, amount, stage, probability, closes_on, notes)
SELECT 1 + g % 200, 'Deal ' || g, (g * 137.5)::numeric(12, 2), (ARRAY['lead', 'qualified', 'proposal'])[1 + g % 3]::deal_stage,
       (g % 10) / 10.0, date '2024-06-30' + g, CASE WHEN g % 4 = 0 THEN NULL ELSE jsonb_build_object('src', 'seed') END
FROM generate_series(1, 300) g;
SQL
echo "crm: $(sql crm -c "SELECT (SELECT count(*) FROM customers) || ' customers, ' ||
  (SELECT count(*) FROM contacts) || ' contacts, ' || (SELECT count(*) FROM deals) || ' deals'")"

# --- 3. the agent --------------------------------------------------------------------------------
step "starting walship-agent (slot and publication 'walship', object store $store_url)"
"$agent_bin" --source "$(conninfo crm)" --slot walship --publication walship --create \
  --object-store "$store_url" >"$demo/agent.log" 2>&1 &
echo $! >"$demo/agent.pid"
agent_pid=$!
for i in $(seq 1 300); do
  kill -0 "$agent_pid" 2>/dev/null || die "walship-agent exited early"
  [[ -n $(find "$demo/store" -name manifest.pb 2>/dev/null) ]] && break
  ((i == 300)) && die "the agent did not store its first base snapshot within 60 s"
  sleep 0.2
done
echo "first base snapshot stored: $(find "$demo/store" -path '*base*' -type f | wc -l) objects"
echo "agent running (pid $agent_pid, log $demo/agent.log)"

# --- 4. workload, the moment to go back to, and the bad DELETE -----------------------------------
step "running a workload"
for round in $(seq 1 10); do
  sql crm <<SQL
BEGIN;
INSERT INTO customers (name, email, country, attrs)
SELECT 'New customer $round-' || g, 'new$round-' || g || '@example.com', 'DE', jsonb_build_object('round', $round)
FROM generate_series(1, 5) g;
UPDATE deals SET stage = 'won', probability = 1, amount = amount + 0.50,
       notes = coalesce(notes, '{}') || jsonb_build_object('won_in_round', $round)
WHERE id % 10 = $round % 10;
UPDATE customers SET attrs = attrs || jsonb_build_object('touched', $round) WHERE id % 7 = $round % 7;
DELETE FROM contacts WHERE id % 40 = $round;
INSERT INTO contacts (customer_id, full_name, is_primary, updated_at)
SELECT id, 'Primary of ' || name, true, now() FROM customers WHERE attrs->>'round' = '$round';
COMMIT;
BEGIN;
UPDATE deals SET amount = 999999.99 WHERE id = $round;
ROLLBACK;
SQL
done
# One larger transaction too.
sql crm -c "INSERT INTO deals (customer_id, title, amount, stage, closes_on)
  SELECT 1 + g % 200, 'Bulk deal ' || g, g + 0.10, 'lead', date '2025-01-01' + g % 90
  FROM generate_series(1, 3000) g"
sleep 1
read -r restore_time restore_lsn < <(sql crm -F ' ' -c \
  "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), pg_current_wal_lsn()")
dump_tables crm "$demo/expected"
echo "point to restore to: time $restore_time, LSN $restore_lsn"
echo "source at that point: $(wc -l <"$demo/expected/deals.txt") deals"
sleep 1

step "oops: DELETE FROM deals"
sql crm -c "DELETE FROM deals"
sql crm -c "INSERT INTO customers (name, email) VALUES ('After the delete', 'late@example.com')"
end_lsn=$(sql crm -c "SELECT pg_current_wal_lsn()")
echo "deals left in crm: $(sql crm -c "SELECT count(*) FROM deals")"

# Everything up to end_lsn is in the object store once the agent has confirmed it to PostgreSQL:
# the agent confirms a position only after every sink made it durable.
step "waiting for the agent to make everything up to $end_lsn durable"
for i in $(seq 1 300); do
  kill -0 "$agent_pid" 2>/dev/null || die "walship-agent exited"
  confirmed=$(sql crm -c "SELECT coalesce(confirmed_flush_lsn >= '$end_lsn'::pg_lsn, false)
    FROM pg_replication_slots WHERE slot_name = 'walship'")
  [[ $confirmed == t ]] && break
  ((i == 300)) && die "the agent did not confirm $end_lsn within 60 s"
  sleep 0.2
done
kill -TERM "$agent_pid"
wait "$agent_pid" || die "walship-agent did not exit cleanly after SIGTERM (rc $?)"
rm -f "$demo/agent.pid"
echo "agent stopped; object store holds $(find "$demo/store" -type f | wc -l) objects"
"$replay_bin" list --object-store "$store_url" || echo "(walship-replay list failed)"

# --- 5. restore and compare ----------------------------------------------------------------------
# restore_into DB TARGET-FLAGS...: empty database with the CRM schema, restore, compare.
restore_into() {
  local db=$1
  shift
  # An empty database: the restore creates the schema from the base snapshot.
  sql postgres -c "CREATE DATABASE $db"
  local t=$SECONDS
  "$replay_bin" restore --object-store "$store_url" --target "$(conninfo "$db")" "$@" \
    || die "walship-replay restore $* failed"
  echo "restored $db in $((SECONDS - t)) s"
  dump_tables "$db" "$demo/$db"
  for table in "${tables[@]}"; do
    if ! diff -q "$demo/expected/$table.txt" "$demo/$db/$table.txt" >/dev/null; then
      diff "$demo/expected/$table.txt" "$demo/$db/$table.txt" | head -n 20 >&2
      die "table $table in $db differs from the source at the restore point"
    fi
    echo "  $table: $(wc -l <"$demo/$db/$table.txt") rows, identical to the source"
  done
}
step "restoring into crm_restored with --to-lsn $restore_lsn"
restore_into crm_restored --to-lsn "$restore_lsn"
step "restoring into crm_at_time with --to-time $restore_time"
restore_into crm_at_time --to-time "$restore_time"
step "walship-replay verify: crm_restored against crm_at_time"
"$replay_bin" verify --source "$(conninfo crm_restored)" --target "$(conninfo crm_at_time)" \
  || die "walship-replay verify found differences"

printf '\n\033[1;32m'
cat <<EOF
========================================================================
 walship quick start: SUCCESS ($((SECONDS - start_all)) s)
 The bad DELETE removed every deal from 'crm'; 'crm_restored' (by LSN)
 and 'crm_at_time' (by time) hold the CRM exactly as it was before it.
 Data: $demo   Object store: $store_url
========================================================================
EOF
printf '\033[0m'
if [[ $keep == 1 ]]; then
  echo "PostgreSQL keeps running: $pgbin/psql \"$(conninfo crm_restored)\""
fi
