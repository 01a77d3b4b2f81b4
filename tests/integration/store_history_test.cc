// The store knows which history it holds (ARCHITECTURE.md contract 6): a store written by an
// older walship still lists and restores; a re-created slot, a failover and a missing
// segment are recorded discontinuities, never silent gaps.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/layout.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The fixture's rows, as its make script captured them.
constexpr char kFixtureRowsSql[] =
    "SELECT r FROM (SELECT 'public.accounts ' || a::text AS r FROM accounts a UNION ALL "
    "SELECT 'public.deals ' || d::text FROM deals d) s ORDER BY r COLLATE \"C\"";

std::string FixtureDir() { return WALSHIP_FIXTURE_DIR "/store_v1"; }

// A store written by walship before stream identities (segment format 1, indexes without
// checksums, no incarnation records) must still list and restore, to its end and to a mark.
TEST(FixtureStoreTest, StoreFromFormatOneListsAndRestores) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCluster> pg, PgCluster::Start());
  std::string store = MakeTempDir("fixture-store");
  std::filesystem::copy(FixtureDir() + "/store", store,
                        std::filesystem::copy_options::recursive);
  std::string url = "file://" + store;

  ASSERT_OK_AND_ASSIGN(auto listed, RunReplay({"list", "--object-store", url}));
  ASSERT_EQ(listed.exit_code, 0) << listed.stderr_text;
  EXPECT_THAT(listed.stdout_text, HasSubstr("7716354087429805792"));
  EXPECT_THAT(listed.stdout_text, HasSubstr("fixture-mid"));

  struct Point {
    std::string db;
    std::vector<std::string> target;
    std::string expected_file;
  };
  for (const Point& point : {Point{"at_end", {}, "expected_end.txt"},
                             Point{"at_mark", {"--to-mark", "fixture-mid"}, "expected_mid.txt"}}) {
    SCOPED_TRACE(point.db);
    ASSERT_OK(pg->CreateDatabase(point.db));
    std::vector<std::string> args = {"restore", "--object-store", url, "--target",
                                     pg->ConnInfo(point.db)};
    args.insert(args.end(), point.target.begin(), point.target.end());
    ASSERT_OK_AND_ASSIGN(auto restored, RunReplay(args));
    ASSERT_EQ(restored.exit_code, 0) << restored.stderr_text;
    ASSERT_OK_AND_ASSIGN(std::string rows, pg->Psql(point.db, kFixtureRowsSql));
    EXPECT_EQ(rows, ReadFile(FixtureDir() + "/" + point.expected_file));
  }
  std::filesystem::remove_all(store);
}


constexpr char kSchema[] = R"sql(
CREATE TABLE accounts (id int PRIMARY KEY, name text, balance numeric(12,2));
INSERT INTO accounts SELECT g, 'a' || g, g FROM generate_series(1, 20) g;
)sql";

class StoreHistoryTest : public CrmStoreTest {
 protected:
  StoreHistoryTest() : CrmStoreTest(kSchema) {}

  std::vector<std::string> AgentArgs(const PgCluster& pg) {
    return {"--source", pg.ConnInfo("crm"), "--create", "--object-store", "file://" + store_,
            "--work-dir", work_, "--segment-max-ms", "50", "--sequence-interval", "0"};
  }

  // Starts the agent on `pg`, runs `work` once it streams, waits until the slot has
  // everything (or, without `wait_for_slot`, a second for the last group commit) and stops
  // it with SIGTERM.
  void RunAgent(PgCluster& pg, const std::function<void()>& work,
                std::map<std::string, std::string> env = {}, bool wait_for_slot = true) {
    std::string log = absl::StrCat(work_, "/agent-", runs_++, ".log");
    ASSERT_OK_AND_ASSIGN(auto agent, StartAgent(AgentArgs(pg), log, env));
    WaitForStreaming(log);
    work();
    if (wait_for_slot) {
      ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(pg, "crm"));
      ASSERT_OK(WaitForSlot(pg, "crm", "walship", end, absl::Seconds(60))) << ReadFile(log);
    } else {
      absl::SleepFor(absl::Seconds(1));  // group commit: every segment stored
    }
    agent->Kill(SIGTERM);
    ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
    ASSERT_EQ(stopped.exit_code, 0) << ReadFile(log);
    last_log_ = ReadFile(log);
  }

  // Waits until the agent streams (any base it takes at start is done).
  void WaitForStreaming(const std::string& log) {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline && !absl::StrContains(ReadFile(log), "streaming from slot")) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_THAT(ReadFile(log), HasSubstr("streaming from slot"));
  }

  SubprocessResult Replay(std::vector<std::string> args) {
    auto result = RunReplay(args);
    EXPECT_OK(result.status());
    return result.ok() ? *result : SubprocessResult{};
  }

  // Restores into a new database `db` with `extra` options; returns the result.
  SubprocessResult Restore(PgCluster& pg, const std::string& db, std::vector<std::string> extra) {
    EXPECT_OK(pg.CreateDatabase(db));
    std::vector<std::string> args = {"restore", "--object-store", "file://" + store_, "--target",
                                     pg.ConnInfo(db)};
    args.insert(args.end(), extra.begin(), extra.end());
    return Replay(args);
  }

  void ExpectRestoreEquals(PgCluster& pg, const std::string& db, std::vector<std::string> extra,
                           const TableRows& expected) {
    SubprocessResult restored = Restore(pg, db, extra);
    ASSERT_EQ(restored.exit_code, 0) << restored.stderr_text;
    ASSERT_OK_AND_ASSIGN(TableRows actual, CaptureTables(pg, db));
    EXPECT_EQ(FirstDifference(expected, actual), "");
  }

  std::vector<std::string> Keys(const std::string& sub) {
    std::vector<std::string> keys;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(store_)) {
      std::string path = entry.path().string();
      if (entry.is_regular_file() && absl::StrContains(path, sub)) keys.push_back(path);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  // The index object of the stored segment at `segment_path` (".../wal/FIRST-END.seg").
  static std::string IndexOf(const std::string& segment_path) {
    std::filesystem::path path(segment_path);
    std::string name = path.filename().string();
    return absl::StrCat(path.parent_path().parent_path().string(), "/index/",
                        name.substr(17, 16), ".idx");
  }

  int runs_ = 0;
  std::string last_log_;
};

// The slot is dropped while the agent is down (an operator, or max_slot_wal_keep_size),
// rows change, and the agent is started again with --create: the store records a new
// incarnation and a gap and takes a base at once, so a restore to the end equals the
// source, and a target between the gap and that base is refused, never silently short.
TEST_F(StoreHistoryTest, SlotDroppedAndCreatedAgainRecordsAGapAndRestoresEqualTheSource) {
  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET balance = balance + 1 WHERE id <= 5").status());
  });
  ASSERT_OK(pg_->Psql("crm", "SELECT pg_drop_replication_slot('walship')").status());
  // Changes while no slot exists: no stream carries them.
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO accounts VALUES (100, 'while no slot', 1)").status());
  ASSERT_OK(pg_->Psql("crm", "DELETE FROM accounts WHERE id = 7").status());
  ASSERT_OK_AND_ASSIGN(Lsn in_gap, CurrentLsn(*pg_, "crm"));
  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET name = 'after' WHERE id = 100").status());
  });
  EXPECT_THAT(last_log_, HasSubstr("slot re-created"));
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));

  ExpectRestoreEquals(*pg_, "at_end", {}, source);

  SubprocessResult list = Replay({"list", "--object-store", "file://" + store_});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_THAT(list.stdout_text, HasSubstr("incarnation 2: timeline 1, slot re-created"));
  EXPECT_THAT(list.stdout_text, HasSubstr("recorded gap on timeline 1"));
  EXPECT_EQ(Keys("/gap/").size(), 1u);
  EXPECT_EQ(Keys("/incarnation/").size(), 2u);
  SubprocessResult status = Replay({"status", "--object-store", "file://" + store_});
  EXPECT_THAT(status.stdout_text, HasSubstr("recorded gap:"));
  EXPECT_THAT(status.stdout_text, HasSubstr("incarnation:    2 (slot re-created)"));

  // A point inside the gap: refused (what committed there is unknown), naming the gap and
  // the nearest restorable points.
  SubprocessResult inside = Restore(*pg_, "in_gap", {"--to-lsn", in_gap.ToString()});
  EXPECT_NE(inside.exit_code, 0);
  EXPECT_THAT(inside.stderr_text, HasSubstr("gap"));
  EXPECT_THAT(inside.stderr_text, HasSubstr("Nearest restorable points"));
  EXPECT_THAT(inside.stderr_text, HasSubstr("Nothing was written to the target"));

  // Started again with nothing new: the recorded gap is not recorded again, and no base is
  // taken for it again.
  size_t manifests = Keys("manifest.pb").size();
  RunAgent(*pg_, [] {}, {}, /*wait_for_slot=*/false);
  EXPECT_EQ(Keys("/gap/").size(), 1u);
  EXPECT_EQ(Keys("manifest.pb").size(), manifests);
  EXPECT_THAT(last_log_, Not(HasSubstr("the stream has a gap")));
}

// Killed after recording the new incarnation and the gap, before the base that follows
// them is complete: the next start finds the gap recorded (once), takes the base and the end
// restores equal to the source.
TEST_F(StoreHistoryTest, CrashBeforeTheBaseAfterAGapIsResumedByTheNextStart) {
  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET balance = 3 WHERE id = 3").status());
  });
  ASSERT_OK(pg_->Psql("crm", "SELECT pg_drop_replication_slot('walship')").status());
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO accounts VALUES (300, 'while no slot', 3)").status());
  std::string log = work_ + "/agent-crash.log";
  ASSERT_OK_AND_ASSIGN(auto crashed, StartAgent(AgentArgs(*pg_), log,
                                                {{"WALSHIP_CRASH_AT", "base_before_manifest"}}));
  ASSERT_OK_AND_ASSIGN(SubprocessResult killed, crashed->Wait(absl::Seconds(60)));
  ASSERT_NE(killed.exit_code, 0) << ReadFile(log);
  ASSERT_EQ(Keys("/gap/").size(), 1u) << ReadFile(log);
  ASSERT_EQ(Keys("manifest.pb").size(), 1u);  // the new base never completed

  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET name = 'after' WHERE id = 300").status());
  });
  EXPECT_EQ(Keys("/gap/").size(), 1u);
  EXPECT_EQ(Keys("/incarnation/").size(), 2u);
  EXPECT_EQ(Keys("manifest.pb").size(), 2u);
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  ExpectRestoreEquals(*pg_, "at_end", {}, source);
}

// The same before any change was stored (the store holds only a base): the gap starts at
// that base, so the rows changed while no slot existed are never silently missing.
TEST_F(StoreHistoryTest, SlotCreatedAgainBeforeAnyChangeWasStoredIsAGapFromTheBase) {
  RunAgent(*pg_, [] {}, {}, /*wait_for_slot=*/false);
  ASSERT_TRUE(StoredSegments(store_).empty());
  ASSERT_OK(pg_->Psql("crm", "SELECT pg_drop_replication_slot('walship')").status());
  ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET name = 'while no slot' WHERE id = 4").status());
  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET balance = 44 WHERE id = 4").status());
  });
  EXPECT_EQ(Keys("/gap/").size(), 1u);
  EXPECT_EQ(Keys("manifest.pb").size(), 2u);
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  ExpectRestoreEquals(*pg_, "at_end", {}, source);
}

// Stored segments lie past the slot's confirmed position (the agent died before its status
// update) and one of them is lost: the next start writes it again from the slot.
TEST_F(StoreHistoryTest, MissingSegmentAfterTheSlotPositionIsWrittenAgain) {
  RunAgent(
      *pg_,
      [&] {
        for (int i = 0; i < 4; ++i) {
          ASSERT_OK(pg_->Psql("crm", absl::StrFormat("UPDATE accounts SET balance = balance * 2 "
                                                     "WHERE id = %d",
                                                     i + 1))
                        .status());
          absl::SleepFor(absl::Milliseconds(300));  // one segment each
        }
      },
      {{"WALSHIP_FAILPOINTS", "hold-acknowledgements"}}, /*wait_for_slot=*/false);
  std::vector<std::string> segments = StoredSegments(store_);
  ASSERT_GE(segments.size(), 4u);
  ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
  // The second of the four segments goes missing (its index too).
  std::string lost = segments[segments.size() - 3];
  std::string lost_name = std::filesystem::path(lost).filename().string();
  std::string lost_index = IndexOf(lost);
  ASSERT_TRUE(std::filesystem::exists(lost_index)) << lost_index;
  ASSERT_TRUE(std::filesystem::remove(lost));
  ASSERT_TRUE(std::filesystem::remove(lost_index));
  ASSERT_TRUE(sinks::ParseWalSegmentKey(lost_name).has_value()) << lost_name;
  ASSERT_LT(confirmed, *sinks::ParseSegmentIndexKey(lost_index));

  RunAgent(*pg_, [&] {});
  EXPECT_THAT(last_log_, HasSubstr("writing them again from the slot"));
  EXPECT_TRUE(std::filesystem::exists(lost)) << "the lost segment was not written again";
  EXPECT_TRUE(std::filesystem::exists(lost_index));
  EXPECT_TRUE(Keys("/gap/").empty());
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  ExpectRestoreEquals(*pg_, "at_end", {}, source);
  SubprocessResult list = Replay({"list", "--object-store", "file://" + store_});
  EXPECT_THAT(list.stdout_text, HasSubstr("gaps: none"));
}

// A segment lost before the slot's confirmed position cannot be fetched again: the start
// records the gap, list and status show it, a restore across it is refused with the
// nearest restorable points, and the base taken at once makes the end restorable.
TEST_F(StoreHistoryTest, MissingSegmentBeforeTheSlotPositionIsARecordedGap) {
  Lsn before_lost, after_lost;
  RunAgent(*pg_, [&] {
    for (int i = 0; i < 3; ++i) {
      if (i == 1) {
        ASSERT_OK_AND_ASSIGN(before_lost, CurrentLsn(*pg_, "crm"));
      }
      ASSERT_OK(pg_->Psql("crm", absl::StrFormat("INSERT INTO accounts VALUES (%d, 'n', 0)",
                                                 200 + i))
                    .status());
      if (i == 1) {
        ASSERT_OK_AND_ASSIGN(after_lost, CurrentLsn(*pg_, "crm"));
      }
      absl::SleepFor(absl::Milliseconds(300));
    }
  });
  std::vector<std::string> segments = StoredSegments(store_);
  ASSERT_GE(segments.size(), 3u);
  std::string lost = segments[segments.size() - 2];
  std::string lost_name = std::filesystem::path(lost).filename().string();
  std::string lost_index = IndexOf(lost);
  ASSERT_TRUE(std::filesystem::remove(lost));
  ASSERT_TRUE(std::filesystem::remove(lost_index));

  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET name = 'later' WHERE id = 200").status());
  });
  EXPECT_THAT(last_log_, HasSubstr("the stream has a gap"));
  EXPECT_FALSE(std::filesystem::exists(lost));
  ASSERT_EQ(Keys("/gap/").size(), 1u);

  SubprocessResult list = Replay({"list", "--object-store", "file://" + store_});
  EXPECT_THAT(list.stdout_text, HasSubstr("recorded gap on timeline 1"));
  EXPECT_THAT(list.stdout_text, HasSubstr("segments missing from the store"));
  SubprocessResult status = Replay({"status", "--object-store", "file://" + store_});
  EXPECT_THAT(status.stdout_text, HasSubstr("recorded gap:"));

  SubprocessResult across = Restore(*pg_, "across", {"--to-lsn", after_lost.ToString()});
  EXPECT_NE(across.exit_code, 0);
  EXPECT_THAT(across.stderr_text, HasSubstr("gap"));
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  ExpectRestoreEquals(*pg_, "at_end", {}, source);
}

// Index objects are checksummed: a flipped bit anywhere in one is an error naming it, for
// list and restore alike, never a changed plan.
TEST_F(StoreHistoryTest, FlippedBitsInAnIndexAreRefusedByName) {
  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET balance = 0 WHERE id = 3").status());
  });
  std::vector<std::string> indexes = Keys("/index/");
  ASSERT_FALSE(indexes.empty());
  const std::string path = indexes.back();
  const std::string original = ReadFile(path);
  std::string name = std::filesystem::path(path).filename().string();
  int db = 0;
  for (size_t offset : {size_t{0}, original.size() / 3, original.size() / 2, original.size() - 40,
                        original.size() - 1}) {
    SCOPED_TRACE(offset);
    std::string flipped = original;
    flipped[offset] ^= 0x04;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
    SubprocessResult list = Replay({"list", "--object-store", "file://" + store_});
    EXPECT_NE(list.exit_code, 0);
    EXPECT_THAT(list.stderr_text, HasSubstr(name));
    SubprocessResult restored = Restore(*pg_, absl::StrCat("flip", db++), {});
    EXPECT_NE(restored.exit_code, 0);
    EXPECT_THAT(restored.stderr_text, HasSubstr(name));
  }
}

// A failover: a standby (pg_basebackup -R) is promoted while the old primary goes on
// writing and the agent stores that; the agent is then pointed at the new primary with
// --create. The store keeps both histories: the newest timeline by default, the time
// before the promotion from the old one, and --timeline 1 for the old primary's own end.
TEST_F(StoreHistoryTest, FailoverKeepsBothHistoriesAndRestoresFollowTheNewestTimeline) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCluster> standby, PgCluster::StartStandby(*pg_));
  std::string before_promotion;
  TableRows at_promotion;
  RunAgent(*pg_, [&] {
    ASSERT_OK(pg_->Psql("crm", "UPDATE accounts SET balance = 1000 WHERE id = 1").status());
    ASSERT_OK_AND_ASSIGN(Lsn sent, CurrentLsn(*pg_, "crm"));
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {  // the standby has replayed it
      auto replayed = standby->Query("crm", absl::StrCat("SELECT pg_last_wal_replay_lsn() >= '",
                                                         sent.ToString(), "'"));
      if (replayed.ok() && *replayed == "t") break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_OK_AND_ASSIGN(at_promotion, CaptureTables(*pg_, "crm"));
    ASSERT_OK_AND_ASSIGN(before_promotion,
                         pg_->Query("crm", "SELECT to_char(now() AT TIME ZONE 'UTC', "
                                           "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
    absl::SleepFor(absl::Milliseconds(500));
    ASSERT_OK(standby->Promote());
    // The old primary writes on: only timeline 1 has this.
    ASSERT_OK(pg_->Psql("crm", "INSERT INTO accounts VALUES (500, 'old primary only', 5)").status());
    ASSERT_OK(pg_->Psql("crm", "DELETE FROM accounts WHERE id = 2").status());
  });
  ASSERT_OK_AND_ASSIGN(TableRows old_primary_end, CaptureTables(*pg_, "crm"));
  // The new primary writes before and after the agent reaches it.
  ASSERT_OK(standby->Psql("crm", "INSERT INTO accounts VALUES (600, 'new primary', 6)").status());
  RunAgent(*standby, [&] {
    ASSERT_OK(standby->Psql("crm", "UPDATE accounts SET name = 'new' WHERE id = 600").status());
  });
  EXPECT_THAT(last_log_, HasSubstr("timeline 2"));
  ASSERT_OK_AND_ASSIGN(TableRows new_primary_end, CaptureTables(*standby, "crm"));
  // The three points differ, so each comparison below tells them apart.
  ASSERT_NE(FirstDifference(at_promotion, new_primary_end), "");
  ASSERT_NE(FirstDifference(at_promotion, old_primary_end), "");
  ASSERT_NE(FirstDifference(old_primary_end, new_primary_end), "");

  SubprocessResult list = Replay({"list", "--object-store", "file://" + store_});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_THAT(list.stdout_text, HasSubstr("fork: timeline 1 switched to timeline 2 at"));
  EXPECT_THAT(list.stdout_text, HasSubstr("timeline 2 (objects under \"timeline-00000002/\")"));

  ExpectRestoreEquals(*standby, "latest", {}, new_primary_end);
  ExpectRestoreEquals(*standby, "before_promotion", {"--to-time", before_promotion},
                      at_promotion);
  ExpectRestoreEquals(*standby, "old_timeline", {"--timeline", "1"}, old_primary_end);
  SubprocessResult unknown = Restore(*standby, "unknown_timeline", {"--timeline", "7"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("stored timelines: 1, 2"));

  // Pointed at the former primary again, the agent refuses: the store follows timeline 2.
  std::string log = work_ + "/agent-old.log";
  ASSERT_OK_AND_ASSIGN(auto agent, StartAgent(AgentArgs(*pg_), log));
  ASSERT_OK_AND_ASSIGN(SubprocessResult refused, agent->Wait(absl::Seconds(60)));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(ReadFile(log), HasSubstr("former primary after a failover"));
}

}  // namespace
}  // namespace walship::testing
