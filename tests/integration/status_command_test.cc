// `walship-replay status` from a local directory store: heartbeat keys and content, the
// collected status (window, base, heartbeat, counts), its screen, and the binary itself.
#include "replay/commands/status_command.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/heartbeat.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::replay {
namespace {

using ::testing::HasSubstr;

const sinks::StreamId kStream{"7340000000000000001", "walship"};
const absl::Time kT0 = absl::FromUnixSeconds(1'714'572'000);  // 2024-05-01T14:00:00Z

TEST(Heartbeat, KeyListsInTimeOrderAndParsesBack) {
  EXPECT_EQ(sinks::HeartbeatKey(kStream, kT0 + absl::Milliseconds(900)),
            "7340000000000000001/walship/heartbeat/1714572000.hb");
  EXPECT_EQ(sinks::ParseHeartbeatKey("7340000000000000001/walship/heartbeat/1714572000.hb"), kT0);
  EXPECT_EQ(sinks::ParseHeartbeatKey("1/s/wal/1714572000.hb"), std::nullopt);
  EXPECT_EQ(sinks::ParseHeartbeatKey("1/s/heartbeat/17x.hb"), std::nullopt);
  EXPECT_EQ(sinks::ParseHeartbeatKey("1/s/heartbeat/1714572000.seg"), std::nullopt);
}

TEST(Heartbeat, ContentRoundTripsAndRejectsGarbage) {
  sinks::Heartbeat h{kT0 + absl::Microseconds(5), Lsn(0x16B3748), Lsn(0x16B3800)};
  std::string text = sinks::EncodeHeartbeat(h);
  EXPECT_EQ(
      text,
      R"({"time_us":1714572000000005,"acknowledged_lsn":"0/16B3748","server_wal_lsn":"0/16B3800"})");
  absl::StatusOr<sinks::Heartbeat> back = sinks::DecodeHeartbeat(text);
  ASSERT_OK(back.status());
  EXPECT_EQ(back->time, h.time);
  EXPECT_EQ(back->acknowledged, h.acknowledged);
  EXPECT_EQ(back->server_wal, h.server_wal);
  for (const char* bad :
       {"", "{}", R"({"time_us":"x","acknowledged_lsn":"0/1","server_wal_lsn":"0/1"})",
        R"({"time_us":1,"acknowledged_lsn":"zz","server_wal_lsn":"0/1"})"}) {
    EXPECT_THAT(sinks::DecodeHeartbeat(bad).status(),
                walship::testing::StatusIs(absl::StatusCode::kDataLoss))
        << bad;
  }
}

TEST(FormatAge, PicksTwoUnits) {
  EXPECT_EQ(FormatAge(absl::Seconds(45)), "45s");
  EXPECT_EQ(FormatAge(absl::Seconds(200)), "3m 20s");
  EXPECT_EQ(FormatAge(absl::Minutes(125)), "2h 5m");
  EXPECT_EQ(FormatAge(absl::Hours(76)), "3d 4h");
}

class StatusCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/status-store-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    url_ = absl::StrCat("file://", dir_);
    ASSERT_OK_AND_ASSIGN(store_, sinks::OpenObjectStore(url_));
  }
  void TearDown() override { (void)walship::testing::Subprocess::Run({"rm", "-rf", dir_}); }

  // A segment (dummy bytes) and its index object.
  void AddSegment(uint64_t first_commit, uint64_t last_end, uint64_t previous_end,
                  absl::Time first_time, absl::Time last_time) {
    std::string key = sinks::WalSegmentKey(kStream, Lsn(first_commit), Lsn(last_end));
    ASSERT_OK(store_->Put(key, std::string(100, 'x')));
    v1::SegmentIndex index;
    index.set_segment_key(key);
    index.set_segment_bytes(100);
    v1::SegmentTrailer* t = index.mutable_trailer();
    t->set_first_commit_lsn(first_commit);
    t->set_last_commit_lsn(last_end - 8);
    t->set_last_end_lsn(last_end);
    t->set_previous_end_lsn(previous_end);
    t->set_first_commit_time_us(absl::ToUnixMicros(first_time));
    t->set_last_commit_time_us(absl::ToUnixMicros(last_time));
    t->set_transaction_count(2);
    t->set_event_count(10);
    ASSERT_OK(
        store_->Put(sinks::SegmentIndexKey(kStream, Lsn(last_end)), index.SerializeAsString()));
  }
  void AddBase(uint64_t lsn, absl::Time when) {
    v1::BaseManifest manifest;
    manifest.set_snapshot_lsn(lsn);
    manifest.set_snapshot_time_us(absl::ToUnixMicros(when));
    manifest.set_finished_time_us(absl::ToUnixMicros(when + absl::Seconds(30)));
    manifest.add_tables()->set_row_count(200);
    manifest.add_tables()->set_row_count(300);
    ASSERT_OK(store_->Put(sinks::BaseManifestKey(kStream, Lsn(lsn)), manifest.SerializeAsString()));
  }

  std::string dir_, url_;
  std::unique_ptr<sinks::ObjectStore> store_;
};

TEST_F(StatusCommandTest, ShowsDurablePositionHeartbeatWindowAndBase) {
  AddBase(0x1000, kT0);
  AddSegment(0x1100, 0x2000, 0, kT0 + absl::Minutes(1), kT0 + absl::Minutes(2));
  AddSegment(0x2100, 0x3000, 0x2000, kT0 + absl::Minutes(3), kT0 + absl::Minutes(4));
  ASSERT_OK(
      store_->Put(sinks::HeartbeatKey(kStream, kT0 + absl::Minutes(5)),
                  sinks::EncodeHeartbeat({kT0 + absl::Minutes(5), Lsn(0x3000), Lsn(0x3100)})));
  ASSERT_OK(
      store_->Put(sinks::HeartbeatKey(kStream, kT0 + absl::Minutes(6)),
                  sinks::EncodeHeartbeat({kT0 + absl::Minutes(6), Lsn(0x3000), Lsn(0x3200)})));
  ASSERT_OK(store_->Put("unrelated.txt", "hello"));

  ASSERT_OK_AND_ASSIGN(StoreStatus status, CollectStatus(store_.get(), "", ""));
  ASSERT_EQ(status.streams.size(), 1u);
  const StreamStatus& s = status.streams[0];
  EXPECT_EQ(status.object_count, 8u);  // 1 base, 2 segments, 2 indexes, 2 heartbeats, 1 other
  EXPECT_EQ(s.object_count, 7u);
  EXPECT_EQ(s.summary.last_end_lsn, Lsn(0x3000));
  ASSERT_TRUE(s.heartbeat.has_value());
  EXPECT_EQ(s.heartbeat->time, kT0 + absl::Minutes(6));
  EXPECT_EQ(s.heartbeat->server_wal, Lsn(0x3200));
  ASSERT_TRUE(s.base.has_value());
  EXPECT_EQ(s.base->snapshot_lsn, Lsn(0x1000));
  EXPECT_EQ(s.base->row_count, 500u);
  EXPECT_EQ(s.window_start, Lsn(0x1000));

  std::string screen = FormatStatus(status, kT0 + absl::Minutes(7));
  EXPECT_THAT(screen, HasSubstr("stream 7340000000000000001/walship: 7 objects"));
  EXPECT_THAT(screen, HasSubstr("last durable:   0/3000, committed 2024-05-01T14:04:00.000000Z "
                                "(3m 0s ago)"));
  EXPECT_THAT(screen, HasSubstr("last heartbeat: 2024-05-01T14:06:00.000000Z (1m 0s ago), "
                                "acknowledged 0/3000, server WAL 0/3200"));
  EXPECT_THAT(screen, HasSubstr("window:         0/1000 (2024-05-01T14:00:00.000000Z) .. 0/3000"));
  EXPECT_THAT(screen, HasSubstr("base snapshot:  0/1000, taken 2024-05-01T14:00:00.000000Z "
                                "(7m 0s ago), 2 tables, 500 rows"));
  EXPECT_THAT(screen, ::testing::Not(HasSubstr("WARNING")));
  // Nothing written for an hour: the screen says so.
  EXPECT_THAT(FormatStatus(status, kT0 + absl::Hours(1)), HasSubstr("WARNING: nothing written"));
}

TEST_F(StatusCommandTest, WindowStartsAfterTheLastGapWithoutBase) {
  AddSegment(0x1100, 0x2000, 0, kT0, kT0 + absl::Minutes(1));
  AddSegment(0x5100, 0x6000, 0x5000, kT0 + absl::Minutes(3), kT0 + absl::Minutes(4));
  ASSERT_OK_AND_ASSIGN(StoreStatus status, CollectStatus(store_.get(), "", ""));
  ASSERT_EQ(status.streams.size(), 1u);
  EXPECT_EQ(status.streams[0].window_start, Lsn(0x5100));
  std::string screen = FormatStatus(status, kT0 + absl::Minutes(5));
  EXPECT_THAT(screen, HasSubstr("changes only (no base snapshot)"));
  EXPECT_THAT(screen, HasSubstr("gaps:           1"));
  EXPECT_THAT(screen, HasSubstr("base snapshot:  none"));
  EXPECT_THAT(screen, HasSubstr("last heartbeat: none"));
}

TEST_F(StatusCommandTest, HeartbeatOnlyStreamIsShownAsIdle) {
  ASSERT_OK(store_->Put(sinks::HeartbeatKey(kStream, kT0),
                        sinks::EncodeHeartbeat({kT0, Lsn(0x3000), Lsn(0x3000)})));
  ASSERT_OK_AND_ASSIGN(StoreStatus status, CollectStatus(store_.get(), "", ""));
  ASSERT_EQ(status.streams.size(), 1u);
  std::string screen = FormatStatus(status, kT0 + absl::Seconds(30));
  EXPECT_THAT(screen, HasSubstr("last durable:   no change segments yet"));
  EXPECT_THAT(screen, HasSubstr("window:         empty"));
}

TEST_F(StatusCommandTest, BinaryPrintsTheScreen) {
  AddSegment(0x1100, 0x2000, 0, kT0, kT0 + absl::Minutes(1));
  ASSERT_OK(store_->Put(sinks::HeartbeatKey(kStream, kT0), "not json"));
  ASSERT_OK_AND_ASSIGN(
      walship::testing::SubprocessResult r,
      walship::testing::Subprocess::Run({WALSHIP_REPLAY_PATH, "status", "--object-store", url_}));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("last durable:   0/2000"));
  EXPECT_THAT(r.stdout_text, HasSubstr("last heartbeat: unreadable"));
  ASSERT_OK_AND_ASSIGN(r, walship::testing::Subprocess::Run({WALSHIP_REPLAY_PATH, "status"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("--object-store"));
}

}  // namespace
}  // namespace walship::replay
