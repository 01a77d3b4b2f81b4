// The loop's push-back against a real PostgreSQL: while a sink is over its memory bound the
// loop hands it nothing and reads nothing, yet keeps sending status updates, so a stall far
// longer than wal_sender_timeout ends with the same replication connection and every
// transaction delivered once, in order.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/pg/replication_connection.h"
#include "agent/stream/source_setup.h"
#include "agent/stream/stream_loop.h"
#include "gtest/gtest.h"
#include "sinks/sink.h"
#include "tests/integration/harness.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::walship::testing::PgCluster;
using ::walship::testing::PgClusterOptions;

// Durable at once, except that after the `stall_after`-th transaction it is over its bound
// for `stall`: Backlogged() is true and Write() blocks until the stall ends, as the Kafka
// producer does while brokers are away.
class StallingSink : public sinks::Sink {
 public:
  StallingSink(int stall_after, absl::Duration stall) : stall_after_(stall_after), stall_(stall) {}

  std::string name() const override { return "stalling"; }
  absl::Status Write(const proto::Transaction& txn) override {
    while (Backlogged()) absl::SleepFor(absl::Milliseconds(10));
    absl::MutexLock lock(&mu_);
    ends_.push_back(txn.info().end_lsn);
    watermark_ = txn.info().end_lsn;
    if (static_cast<int>(ends_.size()) == stall_after_) stalled_until_ = absl::Now() + stall_;
    return absl::OkStatus();
  }
  absl::Status Poll(absl::Time) override { return absl::OkStatus(); }
  absl::Time NextDeadline() const override { return absl::InfiniteFuture(); }
  absl::Status Flush(absl::Time) override { return absl::OkStatus(); }
  Lsn DurableWatermark() const override {
    absl::MutexLock lock(&mu_);
    return watermark_;
  }
  bool HasPending() const override { return false; }
  bool Backlogged() const override {
    absl::MutexLock lock(&mu_);
    return absl::Now() < stalled_until_;
  }
  absl::Status Close(absl::Time) override { return absl::OkStatus(); }

  std::vector<Lsn> ends() const {
    absl::MutexLock lock(&mu_);
    return ends_;
  }

 private:
  const int stall_after_;
  const absl::Duration stall_;
  mutable absl::Mutex mu_;
  std::vector<Lsn> ends_ ABSL_GUARDED_BY(mu_);
  Lsn watermark_ ABSL_GUARDED_BY(mu_);
  absl::Time stalled_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

TEST(StreamBackpressureTest, StallLongerThanTheSenderTimeoutKeepsTheConnection) {
  PgClusterOptions cluster_options;
  cluster_options.settings["wal_sender_timeout"] = "3s";
  ASSERT_OK_AND_ASSIGN(auto pg, PgCluster::Start(cluster_options));
  ASSERT_OK(pg->CreateDatabase("crm"));
  ASSERT_OK(pg->Psql("crm", "CREATE TABLE t (id int PRIMARY KEY, v text)").status());
  ASSERT_OK_AND_ASSIGN(auto conn, pg::ReplicationConnection::Connect(pg->ConnInfo("crm")));
  SourceOptions source;
  source.slot = "walship";
  source.publication = "walship";
  source.create = true;
  ASSERT_OK_AND_ASSIGN(SourceState state, PrepareSource(*conn, source));

  constexpr int kTransactions = 40;
  for (int i = 1; i <= kTransactions; ++i) {
    ASSERT_OK(
        pg->Psql("crm", absl::StrCat("INSERT INTO t VALUES (", i, ", 'row ", i, "')")).status());
  }
  ASSERT_OK_AND_ASSIGN(Lsn end, testing::CurrentLsn(*pg, "crm"));

  StallingSink sink(/*stall_after=*/5, /*stall=*/absl::Seconds(10));
  StreamOptions options;
  options.conninfo = pg->ConnInfo("crm");
  options.slot = "walship";
  options.publication = "walship";
  options.system_id = state.identity.system_id;
  options.until_lsn = end;
  options.spill_dir = testing::MakeTempDir("spill");
  options.status_interval = absl::Seconds(1);
  options.slot_stats_interval = absl::ZeroDuration();  // no metrics here
  std::atomic<bool> stop{false};
  NoOpStreamProbe probe;
  StreamLoop loop(options, {&sink}, state.slot.confirmed_flush, &stop, probe);

  // The walsender serving the slot, sampled while the loop runs.
  testing::WalsenderSampler sampler(*pg, "crm", "walship");
  absl::Time started = absl::Now();
  absl::Status ran = loop.Run(std::move(conn));
  std::vector<std::string> pids = sampler.Stop();
  ASSERT_OK(ran);
  EXPECT_GE(absl::Now() - started, absl::Seconds(10)) << "the sink never stalled the loop";

  // One walsender from start to end: the stall did not cost the connection.
  EXPECT_EQ(pids.size(), 1u) << "the replication connection was replaced during the stall";
  // Every transaction once, in commit order.
  std::vector<Lsn> ends = sink.ends();
  ASSERT_EQ(ends.size(), static_cast<size_t>(kTransactions));
  for (size_t i = 1; i < ends.size(); ++i) EXPECT_LT(ends[i - 1], ends[i]);
  ASSERT_OK_AND_ASSIGN(std::string count, pg->Query("crm", "SELECT count(*) FROM t"));
  EXPECT_EQ(count, absl::StrCat(kTransactions));
  ASSERT_OK_AND_ASSIGN(Lsn confirmed, testing::SlotConfirmed(*pg, "crm", "walship"));
  EXPECT_GE(confirmed, ends.back())
      << "the final acknowledgement did not reach the server (the walsender timed out?)";
}

}  // namespace
}  // namespace walship::agent
