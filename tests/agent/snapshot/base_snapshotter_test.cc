// Tests for TakeBaseSnapshot over an in-memory source (fake replication session exporting a
// snapshot, fake sessions importing it) and an in-memory store: every published table is
// copied inside the exported snapshot, the manifest comes last, a failure leaves no manifest
// and no session open, and a snapshot whose tables changed under DDL is taken again.
#include "agent/snapshot/base_snapshotter.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/row_digest.h"
#include "sinks/object_store/layout.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/row_digest_witness.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
using ::walship::testing::FakeClock;
using ::walship::testing::MemoryObjectStore;
using ::walship::testing::StatusIs;

constexpr char kSystemId[] = "7300000000000000001";
constexpr uint64_t kSnapshotLsn = 0x5000000;

// What the fake source saw; shared by the source and every session it opened.
struct SourceLog {
  absl::Mutex mu;
  int open_sessions ABSL_GUARDED_BY(mu) = 0;  // replication and ordinary, still open
  int exports ABSL_GUARDED_BY(mu) = 0;
  bool exporter_open ABSL_GUARDED_BY(mu) = false;
  std::string snapshot_name ABSL_GUARDED_BY(mu);
  std::vector<std::string> temporary_slots ABSL_GUARDED_BY(mu);
  std::vector<std::string> copied ABSL_GUARDED_BY(mu);  // "table@snapshot"
  std::string fail_table ABSL_GUARDED_BY(mu);   // CopyTable of it fails (kUnavailable)
  int abort_locks ABSL_GUARDED_BY(mu) = 0;      // that many LockAndCheckTables say kAborted

  void Opened() {
    absl::MutexLock lock(&mu);
    ++open_sessions;
  }
  void Closed() {
    absl::MutexLock lock(&mu);
    --open_sessions;
  }
};

class FakeReplication : public pg::ReplicationSession {
 public:
  explicit FakeReplication(SourceLog& log) : log_(log) { log_.Opened(); }
  ~FakeReplication() override {
    absl::MutexLock lock(&log_.mu);
    --log_.open_sessions;
    if (exported_) log_.exporter_open = false;  // the snapshot dies with its session
  }
  absl::StatusOr<pg::SystemIdentity> IdentifySystem() override {
    return pg::SystemIdentity{kSystemId, 1, Lsn(kSnapshotLsn), "crm"};
  }
  absl::Status CheckServer() override { return absl::OkStatus(); }
  absl::StatusOr<std::string> ShowSetting(absl::string_view name) override {
    return std::string(name == "server_encoding" ? "UTF8" : "15.4");
  }
  absl::StatusOr<pg::ExportedSnapshot> CreateTemporarySlotWithSnapshot(
      absl::string_view slot) override {
    absl::MutexLock lock(&log_.mu);
    ++log_.exports;
    log_.temporary_slots.emplace_back(slot);
    log_.snapshot_name = absl::StrCat("00000003-0000001B-", log_.exports);
    log_.exporter_open = true;
    exported_ = true;
    return pg::ExportedSnapshot{Lsn(kSnapshotLsn), log_.snapshot_name};
  }
  absl::Status StartReplication(absl::string_view, absl::string_view, Lsn) override {
    return absl::UnimplementedError("not in this fake");
  }
  absl::StatusOr<std::optional<pg::CopyMessage>> Read(absl::Time) override {
    return absl::UnimplementedError("not in this fake");
  }
  absl::Status SendStatus(Lsn, Lsn, bool) override {
    return absl::UnimplementedError("not in this fake");
  }
  absl::Status EndStream() override { return absl::UnimplementedError("not in this fake"); }

 private:
  SourceLog& log_;
  bool exported_ = false;
};

// The ten rows the fake copies of a table or chunk.
std::vector<std::string> FakeRows(const PublishedTable& table, const TableChunk& chunk) {
  std::vector<std::string> rows;
  for (int i = 0; i < 10; ++i) {
    rows.push_back(absl::StrCat(table.relation.table(), "\t", chunk.first_page, "\t", i));
  }
  return rows;
}

PublishedTable Table(uint32_t oid, const std::string& name) {
  PublishedTable table;
  table.relation.set_oid(oid);
  table.relation.set_schema("public");
  table.relation.set_table(name);
  table.estimated_rows = 10;
  return table;
}

class FakeSession : public SnapshotSession {
 public:
  FakeSession(SourceLog& log, std::string snapshot, std::vector<PublishedTable> tables)
      : log_(log), snapshot_(std::move(snapshot)), tables_(std::move(tables)) {
    log_.Opened();
  }
  ~FakeSession() override { log_.Closed(); }

  absl::StatusOr<int64_t> SourceTimeUs() override { return int64_t{1700000000000000}; }
  absl::StatusOr<std::vector<PublishedTable>> ReadPublishedTables(absl::string_view) override {
    return tables_;
  }
  absl::StatusOr<std::vector<v1::SequenceValue>> ReadSequences() override {
    return std::vector<v1::SequenceValue>();
  }
  absl::StatusOr<std::vector<v1::BaseRole>> ReadRolesNamed() override {
    return std::vector<v1::BaseRole>();
  }
  absl::Status LockAndCheckTables(const std::vector<PublishedTable>&, absl::Duration) override {
    absl::MutexLock lock(&log_.mu);
    if (log_.abort_locks > 0) {
      --log_.abort_locks;
      return absl::AbortedError("table \"public.t1\" changed since the snapshot");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<v1::BaseTable> CopyTable(
      const PublishedTable& table, const TableChunk& chunk, const CopyTarget& target,
      const std::function<void(uint64_t rows, uint64_t bytes)>& on_progress,
      const std::atomic<bool>*) override {
    {
      absl::MutexLock lock(&log_.mu);
      if (!log_.exporter_open || log_.snapshot_name != snapshot_) {
        return absl::UnavailableError("the exported snapshot is gone");
      }
      if (table.relation.table() == log_.fail_table) {
        return absl::UnavailableError("server closed the connection unexpectedly");
      }
      log_.copied.push_back(absl::StrCat(
          table.relation.table(),
          chunk.whole() ? "" : absl::StrCat("[", chunk.first_page, "-", chunk.end_page, "]"), "@",
          snapshot_));
    }
    v1::BaseTable copied;
    *copied.mutable_relation() = table.relation;
    copied.set_row_count(10);
    proto::RowDigest digest;
    for (const std::string& row : FakeRows(table, chunk)) digest.Add(row);
    copied.set_row_digest(digest.Hex());
    const uint32_t n = chunk.object_numbers != nullptr ? chunk.object_numbers->fetch_add(1) : 0;
    std::string key = sinks::BaseSegmentKey(*target.stream, target.snapshot_lsn,
                                            table.relation.schema(), table.relation.table(), n);
    for (sinks::ObjectStore* store : target.stores) {
      absl::Status put = store->Put(key, "rows of " + table.relation.table());
      if (!put.ok()) return put;
    }
    copied.add_object_keys(key);
    on_progress(10, 100);
    return copied;
  }
  absl::StatusOr<LargeObjectsCopy> CopyLargeObjects(const CopyTarget&,
                                                    const std::atomic<bool>*) override {
    return LargeObjectsCopy{};
  }

 private:
  SourceLog& log_;
  const std::string snapshot_;
  const std::vector<PublishedTable> tables_;
};

class FakeSource : public SnapshotSource {
 public:
  FakeSource(SourceLog& log, std::vector<PublishedTable> tables)
      : log_(log), tables_(std::move(tables)) {}

  absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> OpenReplication() override {
    return std::unique_ptr<pg::ReplicationSession>(new FakeReplication(log_));
  }
  absl::StatusOr<std::unique_ptr<SnapshotSession>> OpenInSnapshot(
      const std::string& snapshot_name) override {
    {
      absl::MutexLock lock(&log_.mu);
      if (!log_.exporter_open || snapshot_name != log_.snapshot_name) {
        return absl::UnavailableError("invalid snapshot identifier");
      }
    }
    return std::unique_ptr<SnapshotSession>(new FakeSession(log_, snapshot_name, tables_));
  }
  absl::StatusOr<std::string> DumpSchema(const std::string&, absl::string_view section) override {
    return absl::StrCat("-- ", section, "\n");
  }

 private:
  SourceLog& log_;
  const std::vector<PublishedTable> tables_;
};

class BaseSnapshotterTest : public ::testing::Test {
 protected:
  BaseSnapshotterTest() {
    for (int i = 1; i <= 7; ++i) tables_.push_back(Table(16400 + i, absl::StrCat("t", i)));
  }
  SnapshotOptions Options(int jobs) {
    SnapshotOptions options;
    options.conninfo = "dbname=unused";
    options.publication = "walship";
    options.slot = "walship";
    options.jobs = jobs;
    options.temporary_slot = "walship_base_test";
    return options;
  }
  std::string ManifestKey() {
    return sinks::BaseManifestKey(sinks::StreamId{kSystemId, "walship", ""}, Lsn(kSnapshotLsn));
  }

  SourceLog log_;
  std::vector<PublishedTable> tables_;
  MemoryObjectStore store_;
  FakeClock clock_;
};

TEST_F(BaseSnapshotterTest, CopiesEveryPublishedTableInsideTheExportedSnapshot) {
  FakeSource source(log_, tables_);
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest manifest,
                       TakeBaseSnapshot(Options(3), {&store_}, {}, source, clock_));

  std::vector<std::string> expected;
  std::vector<std::string> names;
  for (const PublishedTable& table : tables_) {
    expected.push_back(absl::StrCat(table.relation.table(), "@00000003-0000001B-1"));
  }
  for (const v1::BaseTable& table : manifest.tables()) names.push_back(table.relation().table());
  absl::MutexLock lock(&log_.mu);
  EXPECT_THAT(log_.copied, UnorderedElementsAreArray(expected));  // each once, same snapshot
  EXPECT_THAT(names, ElementsAre("t1", "t2", "t3", "t4", "t5", "t6", "t7"));  // in order
  EXPECT_EQ(manifest.snapshot_lsn(), kSnapshotLsn);
  EXPECT_EQ(manifest.pre_data_sql(), "-- pre-data\n");
  EXPECT_EQ(manifest.post_data_sql(), "-- post-data\n");
  EXPECT_EQ(log_.open_sessions, 0);
  EXPECT_FALSE(log_.exporter_open);
  ASSERT_OK_AND_ASSIGN(std::string stored, store_.Get(ManifestKey()));
  v1::BaseManifest read;
  ASSERT_TRUE(read.ParseFromString(stored));
  EXPECT_EQ(read.tables_size(), 7);
}

TEST_F(BaseSnapshotterTest, ABigTableIsCopiedInChunksThatTogetherMakeTheTable) {
  for (PublishedTable& table : tables_) table.pages = 10;
  PublishedTable big = Table(16500, "big");
  big.pages = 100000;
  big.splittable = true;
  tables_.push_back(big);
  FakeSource source(log_, tables_);
  SnapshotOptions options = Options(4);
  options.min_chunk_pages = 1000;
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest manifest,
                       TakeBaseSnapshot(options, {&store_}, {}, source, clock_));

  // 100070 pages over 2 x 4 jobs: parts of 12500 pages, the last open-ended.
  std::vector<std::string> chunks;
  std::vector<std::string> rows;
  for (uint64_t first = 0; first < 100000; first += 12500) {
    const uint64_t end = first + 12500 < 100000 ? first + 12500 : 0;
    chunks.push_back(absl::StrCat("big[", first, "-", end, "]@00000003-0000001B-1"));
    for (const std::string& row : FakeRows(big, TableChunk{first, end})) rows.push_back(row);
  }
  {
    absl::MutexLock lock(&log_.mu);
    EXPECT_THAT(log_.copied, ::testing::IsSupersetOf(chunks));
    EXPECT_EQ(log_.copied.size(), 7 + chunks.size());
    EXPECT_EQ(log_.copied.front(), chunks.front());  // the largest parts first
  }
  ASSERT_EQ(manifest.tables_size(), 8);
  const v1::BaseTable* found = nullptr;
  for (const v1::BaseTable& t : manifest.tables()) {
    if (t.relation().table() == "big") found = &t;
  }
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->chunks(), 8u);
  EXPECT_EQ(found->row_count(), 80u);
  EXPECT_EQ(found->row_digest(), testing::WitnessRowDigest(rows));
  ASSERT_EQ(found->object_keys_size(), 8);
  for (int i = 0; i < 8; ++i) {  // every part's object, in the order of their numbers
    auto parsed = sinks::ParseBaseSegmentKey(found->object_keys(i));
    ASSERT_TRUE(parsed.has_value()) << found->object_keys(i);
    EXPECT_EQ(parsed->n, static_cast<uint32_t>(i));
  }
  for (const v1::BaseTable& t : manifest.tables()) {
    if (&t != found) {
      EXPECT_EQ(t.chunks(), 0u) << t.relation().table();
    }
  }
}

TEST_F(BaseSnapshotterTest, AFailureMidwayWritesNoManifestAndClosesEverySession) {
  {
    absl::MutexLock lock(&log_.mu);
    log_.fail_table = "t4";
  }
  FakeSource source(log_, tables_);
  EXPECT_THAT(TakeBaseSnapshot(Options(2), {&store_}, {}, source, clock_),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("closed the connection")));

  for (const std::string& key : store_.Keys()) {
    EXPECT_FALSE(absl::EndsWith(key, "manifest.pb")) << key;
  }
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.exports, 1);  // not retried: only DDL under the snapshot is
  EXPECT_EQ(log_.open_sessions, 0);
  EXPECT_FALSE(log_.exporter_open);  // the snapshot is gone with its session
  EXPECT_LT(log_.copied.size(), tables_.size());
}

TEST_F(BaseSnapshotterTest, TakesANewSnapshotWhenTablesChangedUnderIt) {
  {
    absl::MutexLock lock(&log_.mu);
    log_.abort_locks = 1;
  }
  FakeSource source(log_, tables_);
  ASSERT_OK_AND_ASSIGN(v1::BaseManifest manifest,
                       TakeBaseSnapshot(Options(4), {&store_}, {}, source, clock_));

  EXPECT_EQ(manifest.tables_size(), 7);
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.exports, 2);
  EXPECT_THAT(log_.temporary_slots, ElementsAre("walship_base_test", "walship_base_test_2"));
  // Every table copied once, from the second snapshot only.
  EXPECT_EQ(log_.copied.size(), tables_.size());
  for (const std::string& copied : log_.copied) {
    EXPECT_TRUE(absl::EndsWith(copied, "@00000003-0000001B-2")) << copied;
  }
  EXPECT_EQ(log_.open_sessions, 0);
}

TEST_F(BaseSnapshotterTest, GivesUpAfterMaxAttempts) {
  {
    absl::MutexLock lock(&log_.mu);
    log_.abort_locks = 100;
  }
  FakeSource source(log_, tables_);
  SnapshotOptions options = Options(1);
  options.max_attempts = 3;
  EXPECT_THAT(TakeBaseSnapshot(options, {&store_}, {}, source, clock_),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_TRUE(store_.Keys().empty());
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.exports, 3);
}

}  // namespace
}  // namespace walship::agent::snapshot

namespace walship::agent::snapshot {
namespace {

std::vector<PublishedTable> Sized(std::vector<std::pair<uint64_t, bool>> sizes) {
  std::vector<PublishedTable> tables;
  for (const auto& [pages, splittable] : sizes) {
    PublishedTable table;
    table.pages = pages;
    table.splittable = splittable;
    tables.push_back(table);
  }
  return tables;
}

TEST(PlanChunksTest, SplitsOnlyBigPlainTablesAndOnlyWithSeveralJobs) {
  // One job: nothing is split; the largest table first.
  std::vector<ChunkPlan> one = PlanChunks(Sized({{10, true}, {100000, true}}), 1, 1000);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].table, 1u);
  EXPECT_EQ(one[0].end_page, 0u);
  // A partitioned root (not splittable) stays whole however big it is.
  EXPECT_EQ(PlanChunks(Sized({{100000, false}, {10, true}}), 4, 1000).size(), 2u);
  // Below twice the part size: whole.
  EXPECT_EQ(PlanChunks(Sized({{1999, true}}), 4, 1000).size(), 1u);
  // Parts cover every page once: from 0, each starting where the previous ended, the last
  // open-ended.
  std::vector<ChunkPlan> parts = PlanChunks(Sized({{10001, true}, {5, true}}), 4, 1000);
  uint64_t next = 0;
  int of_big = 0;
  for (const ChunkPlan& chunk : parts) {
    if (chunk.table != 0) continue;
    EXPECT_EQ(chunk.first_page, next);
    next = chunk.end_page;
    ++of_big;
  }
  EXPECT_EQ(next, 0u);
  EXPECT_EQ(of_big, 8);  // parts of max(1000, ceil(10006 / (2 x 4))) = 1251 pages
  // Never more than 64 parts.
  EXPECT_EQ(PlanChunks(Sized({{100000000, true}}), 64, 1).size(), 64u);
}

}  // namespace
}  // namespace walship::agent::snapshot
