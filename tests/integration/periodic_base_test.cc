// Periodic base snapshots while the workload runs, retention keeping the newest three, and a
// restore of every point the kept window promises (and a clear refusal before it).
#include <signal.h>

#include <filesystem>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;

// Snapshot LSNs of the complete bases in a local store (directories holding manifest.pb).
std::set<Lsn> StoredBases(const std::string& store) {
  std::set<Lsn> bases;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(store, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != "manifest.pb") continue;
    auto lsn = Lsn::Parse(it->path().parent_path().filename().string());
    if (lsn.ok()) bases.insert(*lsn);
  }
  return bases;
}

struct Point {
  std::string name;
  Lsn lsn;
  TableRows rows;
};

// Retention kept the newest three bases, deleted the older ones of `seen` whole, and kept
// every change segment the oldest kept base needs; returns the oldest kept base (nullopt
// when it did not keep three).
std::optional<Lsn> ExpectRetentionKeptTheNewestThree(const std::string& store, const std::set<Lsn>& seen,
                                      const std::string& log) {
  std::set<Lsn> kept = StoredBases(store);
  EXPECT_EQ(kept.size(), 3u) << ReadFile(log);
  if (kept.size() != 3u) return std::nullopt;
  Lsn oldest_kept = *kept.begin();
  for (Lsn base : seen) {
    if (kept.contains(base)) continue;
    std::error_code ec;
    bool gone = true;
    for (auto it = std::filesystem::recursive_directory_iterator(store, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().string().find("/base/" + base.ToKey() + "/") != std::string::npos &&
          it->is_regular_file()) {
        gone = false;
      }
    }
    EXPECT_TRUE(gone) << "base " << base.ToString() << " should have been deleted";
  }
  for (const std::string& segment : StoredSegments(store)) {
    auto key = std::filesystem::path(segment).filename().string();
    EXPECT_GE(Lsn::Parse(key.substr(17, 16)).value(), oldest_kept) << segment;
  }
  return oldest_kept;
}

// Every captured point at or after the oldest kept base restores equal; earlier ones are
// refused with the window.
void ExpectPointsRestoreInsideTheWindow(PgCluster& pg, const std::string& store,
                                        const std::vector<Point>& points, Lsn oldest_kept) {
  int restored = 0, refused = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    SCOPED_TRACE(points[i].name);
    std::string db = absl::StrCat("point_", i);
    ASSERT_OK(pg.CreateDatabase(db));
    ASSERT_OK_AND_ASSIGN(SubprocessResult result,
                         RunReplay({"restore", "--object-store", "file://" + store, "--target",
                                    pg.ConnInfo(db), "--to-lsn", points[i].lsn.ToString()}));
    if (points[i].lsn >= oldest_kept) {
      ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
      ASSERT_OK_AND_ASSIGN(TableRows rows, CaptureTables(pg, db));
      EXPECT_EQ(FirstDifference(points[i].rows, rows), "");
      ++restored;
    } else {
      EXPECT_EQ(result.exit_code, 1);
      EXPECT_THAT(result.stderr_text, HasSubstr("window"));
      ++refused;
    }
  }
  EXPECT_GE(restored, 2);
  EXPECT_GE(refused, 1) << "the oldest points should be outside the kept window";
}

TEST(PeriodicBaseTest, TakesBasesMidWorkloadAndRetentionKeepsEveryPromisedPoint) {
  ASSERT_OK_AND_ASSIGN(auto pg, PgCluster::Start());
  ASSERT_OK(pg->CreateDatabase("crm"));
  ASSERT_OK(pg->Psql("crm", CrmSchemaSql()).status());
  std::vector<WorkloadStep> steps = CrmWorkload();
  ASSERT_OK(pg->Psql("crm", steps[0].sql)) << steps[0].name;
  std::string store = MakeTempDir("store");
  std::string work = MakeTempDir("work");
  std::string log = work + "/agent.log";
  ASSERT_OK_AND_ASSIGN(
      auto agent,
      StartAgent({"--source", pg->ConnInfo("crm"), "--create", "--object-store", "file://" + store,
                  "--work-dir", work, "--segment-max-ms", "50", "--base-every", "2s",
                  "--retain-base", "3", "--snapshot-jobs", "2"},
                 log));
  ASSERT_OK(WaitForBase(store, absl::Seconds(60))) << ReadFile(log);

  std::vector<Point> points;
  std::set<Lsn> seen = StoredBases(store);
  for (size_t i = 1; i < steps.size(); ++i) {
    ASSERT_OK(pg->Psql("crm", steps[i].sql)) << steps[i].name;
    Point point{steps[i].name, Lsn(), {}};
    ASSERT_OK_AND_ASSIGN(point.lsn, CurrentLsn(*pg, "crm"));
    ASSERT_OK_AND_ASSIGN(point.rows, CaptureTables(*pg, "crm"));
    points.push_back(std::move(point));
    absl::Time until = absl::Now() + absl::Milliseconds(1500);
    while (absl::Now() < until) {
      std::set<Lsn> now = StoredBases(store);
      seen.insert(now.begin(), now.end());
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  // At least three bases were taken while the workload ran (the first start's included).
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (seen.size() < 5 && absl::Now() < deadline) {
    std::set<Lsn> now = StoredBases(store);
    seen.insert(now.begin(), now.end());
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GE(seen.size(), 5u) << ReadFile(log);
  // Two last points right before the stop: the bases taken while the test waited (every
  // 2 s, however slow the machine) leave them inside the kept window. The stop waits only
  // for the last transaction to be durable: its commit record lies past the WAL position
  // read inside it, and the slot is confirmed past that position once the agent has flushed
  // it. (Waiting for the server's current position instead waits for a keepalive, up to a
  // status interval, and three more bases can push both points out of the window.)
  Lsn inside_last;
  for (const char* name : {"final update", "final insert"}) {
    ASSERT_OK_AND_ASSIGN(
        std::string text,
        pg->Query("crm", absl::StrCat("BEGIN; INSERT INTO activity_log VALUES (now(), 'test', '",
                                      name,
                                      "', '{}'); SELECT pg_current_wal_insert_lsn(); COMMIT;")));
    ASSERT_OK_AND_ASSIGN(inside_last, Lsn::Parse(text));
    Point point{name, Lsn(), {}};
    ASSERT_OK_AND_ASSIGN(point.lsn, CurrentLsn(*pg, "crm"));
    ASSERT_OK_AND_ASSIGN(point.rows, CaptureTables(*pg, "crm"));
    points.push_back(std::move(point));
  }
  ASSERT_OK(WaitForSlot(*pg, "crm", "walship", Lsn(inside_last.value() + 1), absl::Seconds(60)))
      << ReadFile(log);
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);

  std::optional<Lsn> oldest_kept = ExpectRetentionKeptTheNewestThree(store, seen, log);
  ASSERT_TRUE(oldest_kept.has_value());
  ExpectPointsRestoreInsideTheWindow(*pg, store, points, *oldest_kept);
  if (!HasFailure()) {
    std::filesystem::remove_all(store);
    std::filesystem::remove_all(work);
  }
}

}  // namespace
}  // namespace walship::testing
