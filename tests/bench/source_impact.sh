#!/usr/bin/env bash
# Benchmark: what streaming costs the source. pgbench's TPS on the source (synchronous_commit on,
# pgbench -i at a modest scale, then `pgbench -c 4 -j 2 -T 30 -N`) while (a) walship-agent is
# attached, streaming into a local-directory object store with its defaults, or (b) pg_recvlogical
# is attached (pgoutput, the agent's own plugin options, into a file with its default fsync).
# Rounds alternate a/b (a b, b a, a b, ...). Before each round the attached consumer catches up with
# what the other's rounds wrote (a marker row it must confirm) and a CHECKPOINT is taken, so every
# measured round starts from the same state. During the walship rounds the agent's /metrics is
# read before and after pgbench, and the p50/p99 of walship_commit_to_durable_seconds over the
# round come from the difference of the histogram buckets (interpolated within the bucket, as
# Prometheus' histogram_quantile does).
#   bash tests/bench/source_impact.sh     (ROUNDS=3 DURATION=30; DURATION=10 for a quick run)
# Env: BENCH_DIR (default /tmp/walship-bench-impact), BENCH_PORT (default 55437), PGBENCH_SCALE (10),
# CLIENTS (4), PGBENCH_SCRIPT ("-N", the simple update; "" for the TPC-B-like default), RECV_OPTS.
export BENCH_PORT=${BENCH_PORT:-55437}
source "$(dirname "$0")/lib.sh"
dir=${BENCH_DIR:-/tmp/walship-bench-impact}
rounds=${ROUNDS:-3} duration=${DURATION:-30} pgbench_scale=${PGBENCH_SCALE:-10} clients=${CLIENTS:-4}
script=${PGBENCH_SCRIPT--N}
recv_opts=${RECV_OPTS:--o proto_version=2 -o publication_names=walship -o streaming=on -o messages=on}
metrics_addr=127.0.0.1:$((bench_port + 1000))
[[ -x $agent_bin ]] || { echo "build first: no $agent_bin" >&2; exit 1; }

load_start=$(uptime)
echo "source impact: pgbench -s $pgbench_scale -c $clients -j 2 -T $duration $script, $rounds rounds, bench dir $dir"
echo "load at start: $load_start"
echo "walship-agent built $(stat -c %y "$agent_bin")"
consumer_pid=""
stop_consumer() {
  [[ -n $consumer_pid ]] || return 0
  kill -TERM "$consumer_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$consumer_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$consumer_pid" 2>/dev/null || true
  wait "$consumer_pid" 2>/dev/null || true
  consumer_pid=""
}
cleanup() {
  stop_consumer
  stop_cluster
  [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$dir/pg/data" "$dir/store" "$dir/work" "$dir/recv.out"
}
start_cluster "$dir" max_wal_senders=10 synchronous_commit=on; trap cleanup EXIT
conn="$bench_conn dbname=bench"
pgb() { pgbench -h "$dir/pg" -p "$bench_port" -U postgres "$@" bench; }

t0=$(now_s)
psql_bench postgres -c "CREATE DATABASE bench"
pgb -i -q -s "$pgbench_scale" 2>"$dir/pgbench-init.log"
# pgbench_history has no key; the agent refuses to publish it under REPLICA IDENTITY DEFAULT
# (pgbench only inserts into it, so FULL costs nothing here).
psql_bench bench -c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" \
  -c "CREATE TABLE bench_marker (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())" \
  -c "CREATE PUBLICATION walship FOR ALL TABLES"
echo "pgbench -i -s $pgbench_scale: $(elapsed "$t0" "$(now_s)") s, $(psql_bench bench -c "SELECT pg_size_pretty(pg_database_size('bench'))")"

# The slots: the agent's by its first start (--create: slot, DDL capture, base snapshot, then it
# exits at --until-lsn 0/1), pg_recvlogical's by SQL.
agent_opts=(--source "$conn" --slot ws_agent --publication walship --object-store "file://$dir/store" --work-dir "$dir/work")
rm -rf "$dir/store" "$dir/work"
t0=$(now_s)
"$agent_bin" "${agent_opts[@]}" --create --until-lsn 0/1 --log-level warning 2>"$dir/agent-base.log" ||
  { echo "walship-agent (first start) failed:" >&2; tail -20 "$dir/agent-base.log" >&2; exit 1; }
echo "agent slot and base snapshot: $(elapsed "$t0" "$(now_s)") s"
psql_bench bench -c "SELECT 'slot' FROM pg_create_logical_replication_slot('ws_recv', 'pgoutput')" >/dev/null
pgb -c "$clients" -j 2 -T 5 ${script:+"$script"} >"$dir/pgbench-warmup.log" 2>&1  # warms the caches, unmeasured
echo "warm-up (5 s, no consumer): $(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$dir/pgbench-warmup.log" | head -n1) TPS"

# catch_up SLOT: a marker row, then wait until the slot confirms past it (pg_recvlogical reports
# its flush position every 10 s, so this can take that long).
catch_up() {
  local before; before=$(psql_bench bench -c "SELECT pg_current_wal_lsn()")
  psql_bench bench -c "INSERT INTO bench_marker DEFAULT VALUES"
  for _ in $(seq 1200); do
    [[ $(psql_bench bench -c "SELECT confirmed_flush_lsn > '$before' FROM pg_replication_slots WHERE slot_name = '$1'") == t ]] &&
      return 0
    kill -0 "$consumer_pid" 2>/dev/null || { echo "the consumer on $1 exited:" >&2; tail -20 "$dir/$1.log" >&2; exit 1; }
    sleep 0.25
  done
  echo "slot $1 did not catch up in 5 minutes" >&2; exit 1
}
scrape() { curl -sf "http://$metrics_addr/metrics" >"$1" || : >"$1"; }
# buckets FILE: "le count" lines of walship_commit_to_durable_seconds.
buckets() { sed -n 's/^walship_commit_to_durable_seconds_bucket{le="\([^"]*\)"} \([0-9.e+]*\)$/\1 \2/p' "$1"; }
# delta BEFORE AFTER: "le count" lines of the observations between two readings.
delta() { paste <(buckets "$1") <(buckets "$2") | awk '{ print $1, $4 - $2 }'; }
# quantiles: "count p50 p99" of "le count" lines (cumulative, ascending, +Inf last) on stdin.
quantiles() {
  awk '{ le[++n] = $1; c[n] = $2 }
    function q(f,   r, i, lo, below) {
      r = f * c[n]
      for (i = 1; i <= n; i++) if (c[i] >= r) break
      if (le[i] == "+Inf") return le[i - 1]  # as histogram_quantile: the highest finite bound
      lo = (i == 1) ? 0 : le[i - 1]; below = (i == 1) ? 0 : c[i - 1]
      return lo + (le[i] - lo) * (r - below) / (c[i] - below)
    }
    END { if (n == 0 || c[n] == 0) { print 0, "-", "-"; exit } printf "%d %.4f %.4f\n", c[n], q(0.5), q(0.99) }'
}

run_pgbench() {  # NAME ROUND: TPS into tps_NAME_ROUND
  psql_bench bench -c "CHECKPOINT"
  pgb -c "$clients" -j 2 -T "$duration" ${script:+"$script"} >"$dir/pgbench-$1-$2.log" 2>&1 ||
    { echo "pgbench failed:" >&2; tail -20 "$dir/pgbench-$1-$2.log" >&2; exit 1; }
  printf -v "tps_$1_$2" '%s' "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$dir/pgbench-$1-$2.log" | head -n1)"
}
round_walship() {
  "$agent_bin" "${agent_opts[@]}" --metrics-listen "$metrics_addr" --log-level info 2>>"$dir/ws_agent.log" &
  consumer_pid=$!
  catch_up ws_agent
  scrape "$dir/metrics-$1.before"
  run_pgbench walship "$1"
  sleep 1  # the last group commit (--segment-max-ms 200) becomes durable
  scrape "$dir/metrics-$1.after"
  stop_consumer
  read -r n p50 p99 < <(delta "$dir/metrics-$1.before" "$dir/metrics-$1.after" | quantiles)
  local tps=tps_walship_$1
  if [[ -z $(buckets "$dir/metrics-$1.after") ]]; then
    hist_absent=1
    echo "round $1 walship-agent:   ${!tps} TPS  (walship_commit_to_durable_seconds is ABSENT from this agent's /metrics)"
  else
    echo "round $1 walship-agent:   ${!tps} TPS  (commit to durable: $n transactions, p50 $p50 s, p99 $p99 s)"
  fi
}
round_recv() {
  # shellcheck disable=SC2086  # recv_opts is a list of options
  pg_recvlogical -d "$conn" -S ws_recv --start $recv_opts -f "$dir/recv.out" 2>>"$dir/ws_recv.log" &
  consumer_pid=$!
  catch_up ws_recv
  run_pgbench recv "$1"
  stop_consumer
  local tps=tps_recv_$1
  echo "round $1 pg_recvlogical: ${!tps} TPS"
}

hist_absent=0
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then round_walship "$r"; round_recv "$r"; else round_recv "$r"; round_walship "$r"; fi
done

# The histogram over all walship rounds: the sums of the per-round differences.
for ((r = 1; r <= rounds; r++)); do delta "$dir/metrics-$r.before" "$dir/metrics-$r.after"; done | awk '{ s[$1] += $2; if (!($1 in o)) o[$1] = ++n; k[n] = $1 } END { for (i = 1; i <= n; i++) print k[i], s[k[i]] }' \
  >"$dir/hist.all"

echo
printf '%-6s %14s %14s %7s\n' round walship recvlogical ratio
for ((r = 1; r <= rounds; r++)); do
  a=tps_walship_$r b=tps_recv_$r
  awk -v r="$r" -v a="${!a}" -v b="${!b}" 'BEGIN { printf "%-6s %14.1f %14.1f %7.3f\n", r, a, b, a / b }'
done
for ((r = 1; r <= rounds; r++)); do a=tps_walship_$r b=tps_recv_$r; echo "${!a} ${!b}"; done |
  awk '{ a += $1; b += $2; n++ } END { printf "%-6s %14.1f %14.1f %7.3f\n", "mean", a / n, b / n, a / b }'
if ((hist_absent)); then
  echo "commit to durable: walship_commit_to_durable_seconds is ABSENT from this agent's /metrics (no p50/p99)"
else
  read -r n p50 p99 < <(quantiles <"$dir/hist.all")
  echo "commit to durable over the walship rounds: $n transactions, p50 $p50 s, p99 $p99 s" \
    "($(awk -v p="$p99" 'BEGIN { print (p != "-" && p < 0.25) ? "meets" : "MISSES" }') the goal p99 < 0.250 s)"
fi
echo "load at start: $load_start"
echo "load at end:   $(uptime)"
for ((r = 1; r <= rounds; r++)); do a=tps_walship_$r b=tps_recv_$r; echo "${!a} ${!b}"; done |
  awk '{ a += $1; b += $2 } END { printf "ratio (walship TPS / pg_recvlogical TPS): %.3f  (goal >= 0.95)\n", a / b }'
