#!/usr/bin/env bash
# The back-pressure test with a long upload stall (default 180 s, far past PostgreSQL's
# default wal_sender_timeout of 60 s; the test sets 5 s): the replication connection must
# survive it, the slot never pass the bucket, and a restore equal the source.
#
#   tests/chaos/long_upload_stall.sh [SECONDS] [BUILD_DIR]
#
# CI runs the same test with a 10 s stall (AgentS3Test.StalledUploadsNeverCostTheReplicationConnection).
set -euo pipefail
seconds=${1:-180}
build=${2:-build}
binary="$build/tests/integration/walship_agent_s3_integration_tests"
if [[ ! -x $binary ]]; then
  echo "long_upload_stall.sh: $binary is missing; build with -DWALSHIP_BUILD_TESTS=ON first" >&2
  exit 2
fi
echo "stalling uploads for ${seconds}s against wal_sender_timeout=5s"
WALSHIP_STALL_SECONDS=$seconds "$binary" \
  --gtest_filter='AgentS3Test.StalledUploadsNeverCostTheReplicationConnection'
