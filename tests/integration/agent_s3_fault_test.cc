// The shipped agent against S3 faults. Against tests/tools/fake_s3 (SigV4 checked with
// botocore): injected 500s, 503 SlowDown, stalls and dropped connections are retried, the
// slot never confirms what the bucket does not hold, and nothing is lost; a permanent 403
// stops the agent with a clear error and without acknowledging. The same faults injected in
// front of s3rver by tests/tools/fault_proxy, and uploads stalled past wal_sender_timeout.
// Write-once (412 on a second PUT) is covered at the store level by s3_store_test.cc
// (FakeS3Test.WriteOnce).
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/s3/http_client.h"
#include "tests/integration/agent_s3_fixture.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/http_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One transaction the test wrote, bracketed by the WAL position before and after it.
TEST_F(AgentS3Test, InjectedFaultsAreRetriedAndTheSlotNeverPassesTheBucket) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(
      auto agent, StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                              S3Url(), "--work-dir", work_ + "/agent", "--segment-max-ms", "50",
                              "--metrics-listen", "127.0.0.1:0"},
                             log));
  ASSERT_OK_AND_ASSIGN(int metrics_port, WaitForMetricsPort(log, *agent));
  ASSERT_OK(WaitForS3Base(*agent, log));

  std::vector<Txn> txns;

  // One kind of fault per workload step, each on the uploads that carry its changes.
  const std::vector<std::string> faults = {
      "/_fault?mode=500&count=3&op=put",      "/_fault?mode=503&count=3&op=put",
      "/_fault?mode=drop_mid&count=2&op=put", "/_fault?mode=stall&stall=3&count=1&op=put",
      "/_fault?mode=drop&count=2&op=put",     "/_fault?mode=drop_after&count=1&op=put",
      "/_fault?mode=503&count=2&op=any",
  };
  std::vector<WorkloadStep> steps = CrmWorkload();
  int injected = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string& fault = faults[i % faults.size()];
    ASSERT_NO_FATAL_FAILURE(Control(fault));
    absl::string_view count = fault;
    count = count.substr(count.find("count=") + 6);
    int n = 0;
    ASSERT_TRUE(absl::SimpleAtoi(count.substr(0, count.find('&')), &n));
    injected += n;
    ASSERT_NO_FATAL_FAILURE(RunStepWatchingTheSlot(steps[i], *agent, log, &txns));
  }
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  // The retries the agent counted, per kind (the fake's own counts below).
  HttpReply scrape = HttpGet(metrics_port, "/metrics");
  ASSERT_EQ(scrape.code, 200);
  auto retries = [&](absl::string_view kind) {
    double total = 0;
    for (absl::string_view line : absl::StrSplit(scrape.body, '\n')) {
      if (!absl::StartsWith(line, "walship_retries_total{") ||
          !absl::StrContains(line, absl::StrCat("kind=\"", kind, "\"")) ||
          !absl::StrContains(line, "sink=\"s3://")) {
        continue;
      }
      double value = 0;
      EXPECT_TRUE(absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) << line;
      total += value;
    }
    return total;
  };
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  // Every fault was met and retried past; the lost answer of a stored PUT met 412 on retry.
  EXPECT_EQ(Stat("faults"), injected);
  EXPECT_GE(Stat("error_SlowDown"), 5);
  EXPECT_GE(Stat("error_InternalError"), 3);
  // At least the put-only faults of the steps before the scrape; libcurl resends some
  // requests on dropped connections by itself, and the last faults may come after it.
  EXPECT_GE(retries("throttled"), 3) << scrape.body;
  EXPECT_GE(retries("server_error"), 3) << scrape.body;
  EXPECT_GE(retries("transport"), 1) << scrape.body;
  EXPECT_LE(retries("throttled"), Stat("error_SlowDown")) << scrape.body;
  EXPECT_LE(retries("server_error"), Stat("error_InternalError")) << scrape.body;
  EXPECT_GE(Stat("error_PreconditionFailed"), 1);
  std::string agent_log = ReadFile(log);
  EXPECT_THAT(agent_log, HasSubstr("retrying in"));
  // Hundreds of signed requests, retries and errors: the secret is in no log line and no
  // metric (the access key may be named; the secret never).
  EXPECT_THAT(agent_log, Not(HasSubstr(kFakeSecret)));
  EXPECT_THAT(scrape.body, Not(HasSubstr(kFakeSecret)));
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

TEST_F(AgentS3Test, PermanentErrorStopsCleanlyWithoutAcknowledging) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  std::vector<WorkloadStep> steps = CrmWorkload();
  std::string log = work_ + "/agent.log";
  std::vector<std::string> args = {
      "--source",       pg_->ConnInfo("crm"), "--create", "--object-store", S3Url(), "--work-dir",
      work_ + "/agent", "--segment-max-ms",   "50"};
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent(args, log));
  ASSERT_OK(WaitForS3Base(*agent, log));
  ASSERT_OK(pg_->Psql("crm", steps[0].sql).status());
  ASSERT_OK_AND_ASSIGN(Lsn first, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", first, absl::Seconds(60)), IsOk())
      << ReadFile(log);

  // From now on uploads are checked against a secret the agent does not have: 403.
  ASSERT_NO_FATAL_FAILURE(Control("/_expect_other_secret?ops=put,create,part,complete"));
  ASSERT_OK_AND_ASSIGN(Lsn confirmed_before, SlotConfirmed(*pg_, "crm", "walship"));
  Lsn stored_before = MaxEndOf(S3Keys());
  ASSERT_OK_AND_ASSIGN(Lsn before, CurrentLsn(*pg_, "crm"));
  ASSERT_OK(pg_->Psql("crm", steps[1].sql).status());
  ASSERT_OK_AND_ASSIGN(Lsn after, CurrentLsn(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(SubprocessResult failed, agent->Wait(absl::Seconds(60)));
  std::string agent_log = ReadFile(log);
  EXPECT_NE(failed.exit_code, 0) << agent_log;
  EXPECT_THAT(agent_log, HasSubstr("denied"));
  EXPECT_THAT(agent_log, HasSubstr("AWS_SECRET_ACCESS_KEY"));
  // A permanent error is not retried: the fake answered the refused upload once (retried,
  // it would be seen up to eight times), counted by the fake, not read from our log.
  int refused_requests = Stat("error_SignatureDoesNotMatch");
  EXPECT_GE(refused_requests, 1);
  EXPECT_LE(refused_requests, 2) << agent_log;
  ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_LT(confirmed, after) << "the slot acknowledged a transaction S3 refused";
  EXPECT_LE(confirmed, std::max(confirmed_before, before));
  EXPECT_EQ(MaxEndOf(S3Keys()), stored_before);

  // A wrong secret from the start: a clear error, nothing acknowledged, no secret logged.
  ASSERT_NO_FATAL_FAILURE(Control("/_reset"));
  std::string wrong_log = work_ + "/agent_wrong.log";
  ASSERT_OK_AND_ASSIGN(auto wrong,
                       StartAgent(args, wrong_log, {{"AWS_SECRET_ACCESS_KEY", "a-wrong-secret"}}));
  ASSERT_OK_AND_ASSIGN(SubprocessResult refused, wrong->Wait(absl::Seconds(60)));
  std::string wrong_text = ReadFile(wrong_log);
  EXPECT_NE(refused.exit_code, 0) << wrong_text;
  EXPECT_THAT(wrong_text, HasSubstr("denied"));
  EXPECT_THAT(wrong_text, Not(HasSubstr("a-wrong-secret")));
  ASSERT_OK_AND_ASSIGN(Lsn still, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_EQ(still, confirmed);

  // Once the credentials are right the slot resends what was refused: nothing is lost.
  ASSERT_OK_AND_ASSIGN(agent, StartAgent(args, work_ + "/agent_again.log"));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk())
      << ReadFile(work_ + "/agent_again.log");
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  agent->Kill(SIGTERM);
  ASSERT_OK(agent->Wait(absl::Seconds(60)).status());
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

// The same invariants as InjectedFaultsAreRetriedAndTheSlotNeverPassesTheBucket, but
// against the real s3rver: tests/tools/fault_proxy sits between the agent and s3rver,
// forwards requests unchanged (SigV4 stays valid) and injects 500s, 503 SlowDown, stalls
// and connections dropped mid-upload. The bucket is listed, and the restore reads it,
// from s3rver directly, never through the proxy.
TEST_F(AgentS3Test, RetriesThroughAFaultProxyInFrontOfS3rver) {
  if (!StartS3rver()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "s3rver or node is not installed (WALSHIP_ALLOW_MISSING_PEERS=1)";
  }
  ASSERT_FALSE(endpoint_.empty());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  auto proxy_call = [&](const std::string& method, const std::string& path_and_query) {
    return ProxyCall(method, path_and_query);
  };
  auto proxy_stat = [&](const std::string& name) { return ProxyStat(name); };

  // The agent talks to the proxy; everything else in this test to s3rver (endpoint_).
  std::string agent_url = ProxiedS3Url();
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(
      auto agent, StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                              agent_url, "--work-dir", work_ + "/agent", "--segment-max-ms", "50"},
                             log));
  ASSERT_OK(WaitForS3Base(*agent, log));

  std::vector<Txn> txns;

  // The first steps run clean; then one kind of fault per step, on the uploads that carry
  // its changes (and any heartbeat among them).
  struct Fault {
    std::string query;
    int count;
  };
  const std::vector<Fault> faults = {
      {"/_fault?kind=500&count=3", 3},
      {"/_fault?kind=503&count=3", 3},
      {"/_fault?kind=stall&count=1&seconds=3", 1},
      {"/_fault?kind=drop&count=2", 2},
  };
  std::vector<WorkloadStep> steps = CrmWorkload();
  constexpr size_t kCleanSteps = 2;
  int injected = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i >= kCleanSteps) {
      const Fault& fault = faults[(i - kCleanSteps) % faults.size()];
      absl::StatusOr<sinks::s3::HttpResponse> queued = proxy_call("POST", fault.query);
      ASSERT_TRUE(queued.ok()) << queued.status();
      ASSERT_EQ(queued->status, 204) << fault.query;
      injected += fault.count;
    }
    ASSERT_NO_FATAL_FAILURE(RunStepWatchingTheSlot(steps[i], *agent, log, &txns));
  }
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk()) << ReadFile(log);
  ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, "end"));
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  // Every queued fault met an upload, and each kind was applied.
  EXPECT_EQ(proxy_stat("faults"), injected);
  EXPECT_GE(proxy_stat("fault_500"), 3);
  EXPECT_GE(proxy_stat("fault_503"), 3);
  EXPECT_GE(proxy_stat("fault_stall"), 1);
  EXPECT_GE(proxy_stat("fault_drop"), 2);
  EXPECT_GT(proxy_stat("forwarded"), 0);
  std::string agent_log = ReadFile(log);
  EXPECT_THAT(agent_log, HasSubstr("retrying in"));
  EXPECT_THAT(agent_log, HasSubstr("InternalError"));
  EXPECT_THAT(agent_log, HasSubstr("SlowDown"));
  // (s3rver's fixed secret equals its access key, so the secret-leak check lives in the
  // fake_s3 test above, where the two differ.)
  proxy_->Kill(SIGTERM);
  (void)proxy_->Wait(absl::Seconds(10));

  // Restored from s3rver directly, not through the proxy: nothing was lost.
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

// Back-pressure against a real server: every upload stalls for 10 s in the fault proxy,
// twice wal_sender_timeout (5 s here). The sink's queue fills and the loop stops reading,
// yet its status updates keep the connection: one walsender from start to end (sampled
// from pg_replication_slots), no replication timeout in the server's log, and the slot
// never past what the bucket holds. A SIGTERM given during a second stall ends the agent
// cleanly once the stalled segments are stored, with everything confirmed and restorable.
TEST_F(AgentS3Test, StalledUploadsNeverCostTheReplicationConnection) {
  if (!StartS3rver()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "s3rver or node is not installed (WALSHIP_ALLOW_MISSING_PEERS=1)";
  }
  ASSERT_FALSE(endpoint_.empty());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  ASSERT_OK(pg_->Psql("postgres", "ALTER SYSTEM SET wal_sender_timeout = '5s'; "
                                  "SELECT pg_reload_conf();")
                .status());
  ASSERT_OK(pg_->Psql("crm", "CREATE TABLE stall_probe (id int PRIMARY KEY, pad text)").status());
  std::string log = work_ + "/agent.log";
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent({"--source", pg_->ConnInfo("crm"), "--create",
                                               "--object-store", ProxiedS3Url(), "--work-dir",
                                               work_ + "/agent", "--segment-max-ms", "50"},
                                              log));
  ASSERT_OK(WaitForS3Base(*agent, log));

  // The walsender serving the slot, sampled while the agent runs.
  WalsenderSampler sampler(*pg_, "crm", "walship");

  std::vector<Txn> txns;
  // Many small transactions, each its own segment or nearly (50 ms group commit), so the
  // queue of stalled segments passes its bound (4) while the first upload waits.
  auto write_burst = [&](int first_id, int count) {
    for (int id = first_id; id < first_id + count; ++id) {
      Txn txn;
      ASSERT_OK_AND_ASSIGN(txn.before, CurrentLsn(*pg_, "crm"));
      ASSERT_OK(pg_->Psql("crm", absl::StrFormat("INSERT INTO stall_probe VALUES (%d, "
                                                 "repeat('x', 2000)); SELECT pg_sleep(0.06)",
                                                 id))
                    .status());
      ASSERT_OK_AND_ASSIGN(txn.after, CurrentLsn(*pg_, "crm"));
      txns.push_back(txn);
      ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, absl::StrCat("row ", id)));
    }
  };
  ASSERT_NO_FATAL_FAILURE(write_burst(1, 3));
  ASSERT_OK_AND_ASSIGN(Lsn clean, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", clean, absl::Seconds(60)), IsOk())
      << ReadFile(log);

  // 10 s in CI; tests/chaos/long_upload_stall.sh sets WALSHIP_STALL_SECONDS for minutes.
  int stall_seconds = 10;
  if (const char* env = std::getenv("WALSHIP_STALL_SECONDS")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &stall_seconds) && stall_seconds >= 1) << env;
  }
  ASSERT_OK_AND_ASSIGN(auto queued, ProxyCall("POST", absl::StrCat("/_fault?kind=stall&count=1&seconds=",
                                                                   stall_seconds)));
  ASSERT_EQ(queued.status, 204);
  absl::Time stall_began = absl::Now();
  ASSERT_NO_FATAL_FAILURE(write_burst(100, 24));
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  // While it lasts, the slot never passes the bucket.
  absl::Time deadline = absl::Now() + absl::Seconds(90 + stall_seconds);
  for (;;) {
    ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, "stall"));
    ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
    if (confirmed >= end) break;
    ASSERT_TRUE(agent->Running()) << ReadFile(log);
    ASSERT_LT(absl::Now(), deadline) << ReadFile(log);
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(absl::Now() - stall_began, absl::Seconds(stall_seconds - 1))
      << "the stall never held the uploads";
  EXPECT_EQ(ProxyStat("fault_stall"), 1);
  std::string agent_log = ReadFile(log);
  EXPECT_THAT(agent_log, HasSubstr("pausing the stream")) << "the queue never reached its bound";
  EXPECT_THAT(agent_log, HasSubstr("status updates every"));

  // SIGTERM during a second stall: the agent stores what it holds, confirms it, and exits 0.
  ASSERT_OK_AND_ASSIGN(queued, ProxyCall("POST", "/_fault?kind=stall&count=1&seconds=8"));
  ASSERT_EQ(queued.status, 204);
  ASSERT_NO_FATAL_FAILURE(write_burst(200, 3));
  ASSERT_OK_AND_ASSIGN(Lsn last, CurrentLsn(*pg_, "crm"));
  absl::SleepFor(absl::Seconds(1));  // the stalled upload has begun
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);
  EXPECT_EQ(ProxyStat("fault_stall"), 2);
  ASSERT_OK_AND_ASSIGN(Lsn final_confirmed, SlotConfirmed(*pg_, "crm", "walship"));
  // The last transaction is confirmed (its stored segments were flushed before the end).
  EXPECT_GT(final_confirmed, txns.back().before) << "last written at " << last.ToString();
  ASSERT_NO_FATAL_FAILURE(ExpectConfirmedIsStored(txns, "after SIGTERM"));

  EXPECT_EQ(sampler.Stop().size(), 1u) << "the replication connection was replaced during a stall";
  EXPECT_THAT(pg_->ServerLog(), Not(HasSubstr("replication timeout")));
  ASSERT_OK_AND_ASSIGN(TableRows expected, CaptureTables(*pg_, "crm"));
  EXPECT_EQ(FirstDifference(expected, RestoreInto(S3Url(), "restored")), "");
}

}  // namespace
}  // namespace walship::testing
