#!/usr/bin/env bash
# Benchmark: draining a realistic CRM day's backlog (realistic_day_lib.sh) with three consumers
# of the same WAL: (a) walship-agent into a local-directory object store alone, (b) walship-agent
# into a local store plus the mock Kafka cluster (librdkafka's mock brokers in their own process,
# 3 brokers on loopback TCP, the agent's producer defaults: idempotent, acks=all, zstd), (c)
# pg_recvlogical with pgoutput into a file (its default fsync every 10 s). The base is loaded, then
# one slot per consumer is made (the agents' with --create, which also takes their base snapshot,
# untimed), then the day runs with nobody attached, so the backlog piles up; each consumer then
# drains it to the day's end mark, timed, one after the other (the WAL read into the page cache
# before each). The Kafka run is checked with kcat: the topics' end offsets (and the messages the
# mock still holds; it keeps at most 5 MiB per partition) against the row changes of the day.
#   SCALE=1.0 bash tests/bench/day_stream.sh     (SCALE=0.05 for a quick run)
# Env: BENCH_DIR (default /tmp/walship-bench-daystream), BENCH_PORT (default 55436), BENCH_KEEP=1
# keeps the data, PERF=1 adds an untimed fourth drain (store + Kafka) sampled by perf for 20 s,
# RECV_OPTS: pg_recvlogical's plugin options (default the agent's own: proto 2, streaming,
# messages; e.g. "-o proto_version=1 -o publication_names=walship" for protocol 1), KAFKA_OPTS: more
# agent options for the Kafka runs (e.g. "--kafka-config linger.ms=50"; default none).
export BENCH_PORT=${BENCH_PORT:-55436}
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/realistic_day_lib.sh"
dir=${BENCH_DIR:-/tmp/walship-bench-daystream}
mock_bin=${WALSHIP_MOCKCLUSTER_BIN:-$build_dir/tests/tools/mockcluster/walship_mockcluster}
read -ra kafka_opts <<<"${KAFKA_OPTS:-}"
recv_opts=${RECV_OPTS:--o proto_version=2 -o publication_names=walship -o streaming=on -o messages=on}
[[ -x $agent_bin && -x $replay_bin ]] || { echo "build first: no $agent_bin or $replay_bin" >&2; exit 1; }
[[ -x $mock_bin ]] || { echo "build first: no $mock_bin (target walship_mockcluster)" >&2; exit 1; }
command -v kcat >/dev/null || { echo "kcat is missing (apt-get install kcat)" >&2; exit 1; }

load_start=$(uptime)
echo "day stream: SCALE=$day_scale, bench dir $dir, port $bench_port${KAFKA_OPTS:+, Kafka runs with $KAFKA_OPTS}"
echo "load at start: $load_start"; echo "walship-agent built $(stat -c %y "$agent_bin")"
mock_pid="" holder_pid="" agent_pid=""
cleanup() {
  if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then kill -TERM "$agent_pid"; wait "$agent_pid" || true; fi
  [[ -n $mock_pid ]] && kill -KILL "$mock_pid" 2>/dev/null || true
  [[ -n $holder_pid ]] && kill "$holder_pid" 2>/dev/null || true
  stop_cluster
  [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$dir"/pg/data "$dir"/store-* "$dir"/work-* "$dir/recv.out" "$dir/perf.data"
}
start_cluster "$dir" max_wal_senders=10 max_replication_slots=10; trap cleanup EXIT
conn="$bench_conn dbname=crm"

t0=$(now_s)
psql_bench postgres -c "CREATE DATABASE crm"
day_schema "$conn"
day_base "$conn"
echo "base data: $(psql_bench crm -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE schemaname = 'public'") rows," \
  "$(psql_bench crm -c "SELECT pg_size_pretty(pg_database_size('crm'))") in $(elapsed "$t0" "$(now_s)") s"

start_kafka_mock "$dir"

# agent_args NAME: walship-agent's options for slot ws_NAME, store-NAME and work-NAME.
agent_args() {
  echo "--source"; echo "$conn"; echo "--slot"; echo "ws_$1"; echo "--publication"; echo walship
  echo "--object-store"; echo "file://$dir/store-$1"; echo "--work-dir"; echo "$dir/work-$1"
}
agent() { local a; mapfile -t a < <(agent_args "$1"); "$agent_bin" "${a[@]}" "${@:2}"; }
# The slots, before the day: the agents' by their first start (--create: slot, DDL capture
# triggers, base snapshot; --until-lsn 0/1 exits right after the base), pg_recvlogical's by SQL.
names="store kafka"; [[ ${PERF:-0} == 1 ]] && names+=" prof"
for n in $names; do
  rm -rf "$dir/store-$n" "$dir/work-$n"
  t0=$(now_s)
  agent "$n" --create --until-lsn 0/1 --log-level warning 2>"$dir/base-$n.log" ||
    { echo "walship-agent ($n, first start) failed:" >&2; tail -20 "$dir/base-$n.log" >&2; exit 1; }
  echo "slot ws_$n and its base snapshot: $(elapsed "$t0" "$(now_s)") s"
done
psql_bench crm -c "SELECT 'slot' FROM pg_create_logical_replication_slot('ws_recv', 'pgoutput')" >/dev/null

# The day, with no consumer attached, then the end mark.
counters() {
  day_sql "$conn" -F ' ' -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables
    WHERE schemaname = 'public' ORDER BY relname"
}
counters >"$dir/counters.before"
t0=$(now_s)
day_workload "$conn"
mark_lsn=$(psql_bench crm -c "SELECT pg_logical_emit_message(true, 'walship', 'mark:day-end')")
end_lsn=$(psql_bench crm -c "SELECT pg_current_wal_lsn()")
echo "the day: $(elapsed "$t0" "$(now_s)") s; mark at $mark_lsn, end LSN $end_lsn"
sleep 1  # the sessions' statistics reach pg_stat_user_tables
counters >"$dir/counters.after"
changes=$(LC_ALL=C join "$dir/counters.before" "$dir/counters.after" | awk '{ n += $5 - $2 + $6 - $3 + $7 - $4 } END { print n }')
wal_mib=$(psql_bench crm -c "SELECT round(pg_wal_lsn_diff('$end_lsn', min(confirmed_flush_lsn)) / 1048576.0, 1)
  FROM pg_replication_slots WHERE slot_name LIKE 'ws\_%'")
echo "backlog: $changes row changes (pg_stat_user_tables), $wal_mib MiB of WAL per slot"
psql_bench crm -F ' ' -c "SELECT slot_name, confirmed_flush_lsn FROM pg_replication_slots ORDER BY 1" | sed 's/^/  /'

warm_wal() { as_pg sh -c "cat '$dir/pg/data/pg_wal'/0000* >/dev/null"; }
cpu_of() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }  # user+sys seconds (USER_HZ 100)
# drain NAME COMMAND...: runs it (the timer around it); sets t_NAME, cpu_NAME (its user+sys s), rss_NAME.
t_store="" t_kafka="" t_recv=""
drain() {
  local name=$1; shift
  warm_wal
  local t0; t0=$(now_s)
  /usr/bin/time -f '%M %U %S' -o "$dir/$name.time" "$@" 2>"$dir/$name.log" ||
    { echo "$name failed:" >&2; tail -20 "$dir/$name.log" >&2; exit 1; }
  printf -v "t_$name" '%s' "$(elapsed "$t0" "$(now_s)")"
  printf -v "cpu_$name" '%s' "$(awk 'END { printf "%.1f", $2 + $3 }' "$dir/$name.time")"
  printf -v "rss_$name" '%s' "$(awk 'END { printf "%d", $1 / 1024 }' "$dir/$name.time")"
}

mapfile -t a_store < <(agent_args store); mapfile -t a_kafka < <(agent_args kafka)
drain store "$agent_bin" "${a_store[@]}" --until-lsn "$end_lsn" --log-level info
echo "(a) agent -> store:          $t_store s"
mock_cpu0=$(cpu_of "$mock_pid")
drain kafka "$agent_bin" "${a_kafka[@]}" --until-lsn "$end_lsn" --log-level info --kafka "$bootstrap" "${kafka_opts[@]}"
mock_cpu=$(awk -v a="$mock_cpu0" -v b="$(cpu_of "$mock_pid")" 'BEGIN { printf "%.1f", b - a }')
echo "(b) agent -> store + Kafka:  $t_kafka s"
rm -f "$dir/recv.out"
# shellcheck disable=SC2086  # recv_opts is a list of options
drain recv pg_recvlogical -d "$conn" -S ws_recv --start --no-loop --endpos "$end_lsn" $recv_opts -f "$dir/recv.out"
echo "(c) pg_recvlogical:          $t_recv s"
echo "slots after the drains (every consumer at or past the end LSN $end_lsn):"
psql_bench crm -F ' ' -c "SELECT slot_name, confirmed_flush_lsn, confirmed_flush_lsn >= '$end_lsn' FROM pg_replication_slots
  ORDER BY 1" | sed 's/^/  /'

# What the stores hold, and what Kafka holds (kcat: end offsets, then the messages themselves).
store_txns() { "$replay_bin" list --object-store "file://$dir/store-$1" | sed -n 's/.*segments, \([0-9]*\) transactions.*/\1/p' | tail -n1; }
txns_store=$(store_txns store) txns_kafka=$(store_txns kafka)
kcat -b "$bootstrap" -L | awk '/^  topic "/ { t = $2; gsub(/"/, "", t) }
  /^    partition [0-9]+,/ { p = $2; sub(",", "", p); if (t ~ /^crm\./) print "-t " t ":" p ":-1" }' >"$dir/kafka.parts"
# shellcheck disable=SC2046
kcat -b "$bootstrap" -Q $(cat "$dir/kafka.parts") | awk '{ n[$1] += $4 } END { for (t in n) print t, n[t] }' |
  sort >"$dir/kafka.offsets"
k_rows=$(awk '$1 !~ /^crm\.(transactions|messages)$/ { n += $2 } END { print n + 0 }' "$dir/kafka.offsets")
k_txn=$(awk '$1 == "crm.transactions" { print $2 }' "$dir/kafka.offsets")
k_msg=$(awk '$1 == "crm.messages" { print $2 }' "$dir/kafka.offsets")
for t in $(cut -d' ' -f1 "$dir/kafka.offsets"); do
  kcat -b "$bootstrap" -C -t "$t" -o beginning -e -q -f '%t %S %h\n'
done | sed 's/ \([0-9-]*\) .*walship\.position=\([^,]*\).*/ \2 \1/' >"$dir/kafka.consumed"
k_consumed=$(wc -l <"$dir/kafka.consumed")
k_dups=$(( k_consumed - $(cut -d' ' -f1,2 "$dir/kafka.consumed" | LC_ALL=C sort -u | wc -l) ))
k_size=$(awk '$1 !~ /^crm\.(transactions|messages)$/ { n++; b += $3 } END { printf "%.0f", n ? b / n : 0 }' "$dir/kafka.consumed")

# Optional: a fourth drain (store + Kafka, own slot and topic prefix), sampled by perf.
if [[ ${PERF:-0} == 1 ]]; then
  warm_wal
  mapfile -t a_prof < <(agent_args prof)
  "$agent_bin" "${a_prof[@]}" --until-lsn "$end_lsn" --log-level info --kafka "$bootstrap" "${kafka_opts[@]}" --topic-prefix prof \
    --metrics-listen 127.0.0.1:$((bench_port + 1000)) 2>"$dir/prof.log" &
  agent_pid=$!
  sleep 2
  { sleep 10; curl -s "http://127.0.0.1:$((bench_port + 1000))/metrics" >"$dir/prof.metrics" || true
    top -b -n 1 -o %CPU | sed -n '7,14p' >"$dir/prof.top"; } &
  perf record -F 499 -g -o "$dir/perf.data" -p "$agent_pid" -- sleep 20 >/dev/null 2>"$dir/perf.err" || true
  wait $! || true
  wait "$agent_pid" || true; agent_pid=""
  perf report -i "$dir/perf.data" --stdio --no-children --sort comm,dso,symbol -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | sed -E 's/ +/ /g; s/( -)+ *$//' | head -n 40 >"$dir/perf.flat" || true
  perf report -i "$dir/perf.data" --stdio 2>/dev/null | head -n 80 >"$dir/perf.report" || true
  perf report -i "$dir/perf.data" --stdio --no-children --sort comm -g none 2>/dev/null | grep '%' |
    sed -E 's/ +/ /g; s/( -)+ *$//' >"$dir/perf.threads" || true
  echo; echo "PERF: 20 s of the fourth drain (store + Kafka), flat profile ($dir/perf.flat, call graphs $dir/perf.report):"
  sed 's/^/  /' "$dir/perf.flat"
  echo "  by thread:"; sed 's/^/    /' "$dir/perf.threads"
  echo "  top, 10 s into the sample:"; sed 's/^/    /' "$dir/prof.top"
  echo "  agent metrics then (sinks' bytes, uploads; none when the agent had finished):"
  grep -E '^walship_(sink_(bytes|events|transactions)_total|upload_seconds_(sum|count)|segment_build_seconds_(sum|count))' \
    "$dir/prof.metrics" | sed 's/^/    /' || true
fi

echo
echo "agent log, Kafka run (last lines, $dir/kafka.log):"; tail -n 5 "$dir/kafka.log" | sed 's/^/  /'
echo
echo "SCALE $day_scale: $changes row changes, $wal_mib MiB of WAL to decode per slot"
fmt() {  # NAME LABEL
  local t cpu rss; t=t_$1 cpu=cpu_$1 rss=rss_$1
  awk -v l="$2" -v t="${!t}" -v n="$changes" -v w="$wal_mib" -v c="${!cpu}" -v r="${!rss}" 'BEGIN {
    printf "%-27s %8.2f s %9.0f rows/s %7.1f MiB/s  (CPU %.1f s, peak RSS %d MiB)\n", l, t, n / t, w / t, c, r }'
}
fmt store "(a) agent -> store:"
fmt kafka "(b) agent -> store + Kafka:"
echo "    mock Kafka cluster CPU during (b): $mock_cpu s"
fmt recv "(c) pg_recvlogical:"
echo "stores: $txns_store transactions (a), $txns_kafka transactions (b)"
echo "Kafka (kcat end offsets): $k_rows row messages in the table topics for $changes row changes" \
  "(+ TRUNCATEs: 1 per truncated table), ${k_txn:-0} transaction markers (2 per transaction:" \
  "$(( ${k_txn:-0} / 2 )) transactions), ${k_msg:-0} logical messages"
echo "Kafka (kcat consumed): $k_consumed messages still in the mock (it keeps <= 5 MiB per partition), $k_dups duplicate positions;" \
  "row messages' values average $k_size bytes (uncompressed)"
sed 's/^/  /' "$dir/kafka.offsets"
echo "load at start: $load_start"
echo "load at end:   $(uptime)"
awk -v a="$t_store" -v b="$t_kafka" -v c="$t_recv" 'BEGIN {
  printf "ratio (store+Kafka rate / store alone rate): %.2f  (goal >= 0.9)\n", a / b
  printf "ratio (agent store alone rate / pg_recvlogical rate): %.2f  (goal >= 1.0)\n", c / a }'
