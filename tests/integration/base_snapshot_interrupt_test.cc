// Base snapshots that do not finish: interrupted mid-COPY (no manifest, cleaned up, taken
// again), cancelled, refused for bad options or a missing publication, and an exported
// snapshot that dies with its replication connection.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "agent/pg/pg_connection.h"
#include "agent/pg/replication_connection.h"
#include "agent/snapshot/base_snapshotter.h"
#include "agent/snapshot/retention.h"
#include "agent/snapshot/snapshot_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/object_store.h"
#include "tests/integration/base_snapshot_fixture.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

TEST_F(BaseSnapshotTest, InterruptedSnapshotLeavesNoManifestAndIsCleanedUp) {
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(2);
  options.zstd_level = 0;
  options.batch_bytes = 16 << 10;
  options.object_bytes = 64 << 10;
  std::atomic<bool> killed{false};
  std::thread killer([&] {
    // As soon as the first events object is stored, kill the COPY sessions.
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline && Keys(store, "public.events.").empty()) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    auto out = pg_->Query("crm",
                          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          "WHERE query LIKE 'COPY (SELECT%' AND pid <> pg_backend_pid()");
    killed.store(out.ok() && *out != "0");
  });
  absl::StatusOr<v1::BaseManifest> taken = TakeBaseSnapshot(options, {store}, {});
  killer.join();
  ASSERT_TRUE(killed.load()) << "the copy finished before it could be interrupted";
  EXPECT_FALSE(taken.ok());
  EXPECT_THAT(taken.status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(Keys(store, "manifest.pb").empty());
  std::vector<std::string> partial = Keys(store, "/base/");
  ASSERT_FALSE(partial.empty());

  ASSERT_OK_AND_ASSIGN(std::string system_id,
                       pg_->Query("crm", "SELECT system_identifier FROM pg_control_system()"));
  ASSERT_OK_AND_ASSIGN(int removed, CleanIncompleteBases(*store, {system_id, "walship"}));
  EXPECT_EQ(removed, static_cast<int>(partial.size()));
  EXPECT_TRUE(Keys(store, "/base/").empty());
  // The temporary slot died with its connection.
  ASSERT_OK_AND_ASSIGN(std::string slots,
                       pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
  EXPECT_EQ(slots, "0");

  // Taken again, it completes.
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest manifest, TakeBaseSnapshot(Options(2), {store}, {}));
  EXPECT_EQ(FindTable(manifest, "events")->row_count(), 100000u);
  EXPECT_EQ(Keys(store, "manifest.pb").size(), 1u);
}

TEST_F(BaseSnapshotTest, CancelStopsWithoutManifest) {
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(1);
  options.batch_bytes = 4 << 10;
  std::atomic<bool> cancel{true};
  options.cancel = &cancel;
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(Keys(store, "manifest.pb").empty());
}

TEST_F(BaseSnapshotTest, BadOptionsAndMissingPublication) {
  sinks::ObjectStore* store = NewStore();
  SnapshotOptions options = Options(0);
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TakeBaseSnapshot(Options(1), {}, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options(1);
  options.publication = "nope";
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"nope\"")));
  options = Options(1);
  options.pg_dump_path = "/nonexistent/pg_dump";
  EXPECT_THAT(TakeBaseSnapshot(options, {store}, {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(Keys(store, "manifest.pb").empty());
}

TEST_F(BaseSnapshotTest, ASnapshotDiesWithItsReplicationConnection) {
  std::string name;
  {
    ASSERT_OK_AND_ASSIGN(auto repl, pg::ReplicationConnection::Connect(pg_->ConnInfo("crm")));
    ASSERT_OK_AND_ASSIGN(auto exported, repl->CreateTemporarySlotWithSnapshot("gone_test"));
    EXPECT_TRUE(exported.consistent_point.valid());
    name = exported.snapshot_name;
    ASSERT_OK_AND_ASSIGN(
        auto reader, pg::PgConnection::Connect(pg_->ConnInfo("crm"), pg::ConnectionKind::kNormal));
    ASSERT_OK(ImportSnapshot(*reader, name));
    ASSERT_OK_AND_ASSIGN(std::string slots,
                         pg_->Query("crm",
                                    "SELECT count(*) FROM pg_replication_slots WHERE "
                                    "slot_name = 'gone_test' AND temporary"));
    EXPECT_EQ(slots, "1");
  }
  // The walsender exits shortly after the connection closes; its temporary slot goes with
  // it, and so does the snapshot.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    ASSERT_OK_AND_ASSIGN(std::string left,
                         pg_->Query("crm", "SELECT count(*) FROM pg_stat_replication"));
    ASSERT_OK_AND_ASSIGN(std::string temp,
                         pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
    if (left == "0" && temp == "0") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_OK_AND_ASSIGN(
      auto late, pg::PgConnection::Connect(pg_->ConnInfo("crm"), pg::ConnectionKind::kNormal));
  EXPECT_THAT(ImportSnapshot(*late, name), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK_AND_ASSIGN(std::string slots,
                       pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots"));
  EXPECT_EQ(slots, "0");
}

}  // namespace
}  // namespace walship::agent::snapshot
