#!/usr/bin/env bash
# Installs the test peers, builds walship twice and runs the whole test suite on each build:
#   build/       plain (RelWithDebInfo)
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (-DWALSHIP_SANITIZE=ON)
# Usage: bash tests/run_tests.sh [--skip-deps] [--plain-only | --asan-only] [-- CTEST ARGS...]
# Environment: WALSHIP_JOBS (build and ctest parallelism, default: number of cores),
# WALSHIP_PEERS_DIR (where s3rver is installed). Exits non-zero if any build or test fails.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

skip_deps=0
run_plain=1
run_asan=1
ctest_extra=()
while (($# > 0)); do
  case "$1" in
    --skip-deps) skip_deps=1 ;;
    --plain-only) run_asan=0 ;;
    --asan-only) run_plain=0 ;;
    --) shift; ctest_extra=("$@"); break ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "run_tests.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

jobs=${WALSHIP_JOBS:-$(nproc)}
start_all=$SECONDS
elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
say() { printf '\n=== %s\n' "$*"; }

# 1. Dependencies and test peers; the peers' paths become environment variables for the tests.
if [[ $skip_deps == 0 ]]; then
  say "installing dependencies and test peers"
  t=$SECONDS
  deps_out=$(bash "$repo/docker/install_deps.sh" --test-peers | tee /dev/stderr)
  s3rver_line=$(grep '^WALSHIP_S3RVER_JS=' <<<"$deps_out" | tail -n1 || true)
  [[ -n $s3rver_line ]] && export "${s3rver_line?}"
  echo "dependencies: $(elapsed "$t")"
fi
if [[ -z ${WALSHIP_S3RVER_JS-} ]]; then
  for candidate in "${WALSHIP_PEERS_DIR-}" /opt/walship-test-peers \
      "${XDG_CACHE_HOME:-$HOME/.cache}/walship-test-peers"; do
    if [[ -n $candidate && -f $candidate/node_modules/s3rver/bin/s3rver.js ]]; then
      export WALSHIP_S3RVER_JS=$candidate/node_modules/s3rver/bin/s3rver.js
      break
    fi
  done
fi
export WALSHIP_S3RVER_JS=${WALSHIP_S3RVER_JS-}
export WALSHIP_NODE=${WALSHIP_NODE:-$(command -v node || true)}
# Debian's aws cli v2 when present (a pip-installed v1 earlier on PATH also works).
if [[ -z ${WALSHIP_AWS-} ]]; then
  if [[ -x /usr/bin/aws ]]; then WALSHIP_AWS=/usr/bin/aws; else WALSHIP_AWS=$(command -v aws || true); fi
fi
export WALSHIP_AWS
export WALSHIP_KCAT=${WALSHIP_KCAT:-$(command -v kcat || true)}
export WALSHIP_PROMTOOL=${WALSHIP_PROMTOOL:-$(command -v promtool || true)}
export WALSHIP_PG_BINDIR=${WALSHIP_PG_BINDIR:-/usr/lib/postgresql/15/bin}
echo "peers: s3rver=${WALSHIP_S3RVER_JS:-none} node=${WALSHIP_NODE:-none} aws=${WALSHIP_AWS:-none}" \
  "kcat=${WALSHIP_KCAT:-none} promtool=${WALSHIP_PROMTOOL:-none} pg=$WALSHIP_PG_BINDIR"

# Sanitizers: fail on the first report, with a stack trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -a summary=()
failed=0

# build_and_test NAME DIR CTEST_EXCLUDE CMAKE_ARGS...   (CTEST_EXCLUDE: a ctest -E regex or "")
build_and_test() {
  local name=$1 dir=$2 exclude=$3
  shift 3
  say "$name build in $dir"
  local t=$SECONDS
  mkdir -p "$repo/$dir"
  if ! cmake -S "$repo" -B "$repo/$dir" -G Ninja "$@" >"$repo/$dir/configure.log" 2>&1; then
    cat "$repo/$dir/configure.log" >&2
    summary+=("$name: configure FAILED ($(elapsed "$t"))")
    failed=1
    return
  fi
  if ! ninja -C "$repo/$dir" -j "$jobs"; then
    summary+=("$name: build FAILED ($(elapsed "$t"))")
    failed=1
    return
  fi
  local build_time
  build_time=$(elapsed "$t")
  say "$name tests"
  t=$SECONDS
  local filter=()
  [[ -n $exclude ]] && filter=(-E "$exclude")
  # The sleepers (tests that mostly wait on the wall clock) run in a second ctest beside
  # the rest, so they hold no slot that CPU-bound tests could use.
  local ok=1
  local sleeper_pid=""
  if [[ $name == plain && ${#ctest_extra[@]} == 0 ]]; then
    # Tests discovered when ctest starts (DISCOVERY_MODE PRE_TEST: the fidelity corpus)
    # are listed once here first: two ctests starting together would both write that list,
    # and one could read the other's half-written file (a CMake parse error, no test run).
    (cd "$repo/$dir" && ctest -N >/dev/null) || ok=0
    filter=(-E "$sleepers")
    (cd "$repo/$dir" && ctest --output-on-failure --timeout 900 -R "$sleepers" \
      >"$repo/$dir/sleepers.log" 2>&1) &
    sleeper_pid=$!
  fi
  (cd "$repo/$dir" && ctest --output-on-failure -j "$jobs" --timeout 900 "${filter[@]}" \
    "${ctest_extra[@]}") || ok=0
  if [[ -n $sleeper_pid ]]; then
    wait "$sleeper_pid" || ok=0
    cat "$repo/$dir/sleepers.log"
  fi
  if [[ $ok == 1 ]]; then
    summary+=("$name: build $build_time, tests passed ($(elapsed "$t"))")
  else
    summary+=("$name: build $build_time, tests FAILED ($(elapsed "$t"))")
    failed=1
  fi
}

# Tests that spend minutes waiting on the wall clock (an alert's `for:` window), not CPU.
sleepers="KafkaOutageGrowsRpoTurnsHealthzAndFiresTheRpoAlert"

if [[ $run_plain == 1 ]]; then
  # -g1 (line tables: stack traces keep file and line) halves the compile time of -g.
  build_and_test plain build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWALSHIP_SANITIZE=OFF \
    -DWALSHIP_BUILD_TESTS=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
fi
if [[ $run_asan == 1 ]]; then
  # -O1 keeps sanitized builds and runs reasonably fast. The Kafka-outage alert test spends
  # four minutes waiting for an alert's `for:` window; it checks timing, not memory safety,
  # and runs in the plain pass only.
  build_and_test asan+ubsan build-asan "$sleepers" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWALSHIP_SANITIZE=ON \
    -DWALSHIP_BUILD_TESTS=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1"
fi

say "summary (total $(elapsed "$start_all"))"
printf '  %s\n' "${summary[@]}"
if [[ $failed != 0 ]]; then
  echo "RESULT: FAILED"
  exit 1
fi
echo "RESULT: all tests passed"
