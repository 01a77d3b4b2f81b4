// The fixture of the base-snapshot tests: a real PostgreSQL 15 with a small CRM schema and
// data (an enum, arrays, bytea, an oddly named table, an empty one, 100000 event rows), local
// object stores, and a base's rows, counts and checksums read back.
#ifndef WALSHIP_TESTS_INTEGRATION_BASE_SNAPSHOT_FIXTURE_H_
#define WALSHIP_TESTS_INTEGRATION_BASE_SNAPSHOT_FIXTURE_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "agent/snapshot/base_snapshotter.h"
#include "gtest/gtest.h"
#include "proto/segment_reader.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/row_digest_witness.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent::snapshot {

using ::walship::testing::PgCluster;

inline constexpr char kSchema[] = R"sql(
CREATE TYPE deal_stage AS ENUM ('lead', 'won', 'lost');
CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, note text,
                        created timestamptz DEFAULT '2026-01-01 10:00:00+00');
CREATE INDEX customers_name ON customers (name);
CREATE TABLE deals (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    customer_id bigint REFERENCES customers, amount numeric(12,2),
                    stage deal_stage, tags text[], data bytea);
CREATE TABLE events (id bigint PRIMARY KEY, payload text, score double precision);
CREATE TABLE "Odd Name" (k int, "v.1" text);
ALTER TABLE "Odd Name" REPLICA IDENTITY FULL;
CREATE TABLE empty_table (id int PRIMARY KEY);
INSERT INTO customers (name, note)
  SELECT 'c' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE E'tab\there\nnewline \\ back' || i END
  FROM generate_series(1, 2000) i;
INSERT INTO deals (customer_id, amount, stage, tags, data)
  SELECT 1 + i % 2000, i * 1.25, (ARRAY['lead','won','lost'])[1 + i % 3]::deal_stage,
         ARRAY['a' || i, 'b"c'], decode(md5(i::text), 'hex')
  FROM generate_series(1, 5000) i;
INSERT INTO events SELECT i, repeat('x', i % 200) || i, i / 3.0 FROM generate_series(1, 100000) i;
INSERT INTO "Odd Name" VALUES (1, 'one'), (2, NULL), (3, 'ü');
CREATE PUBLICATION walship FOR ALL TABLES;
)sql";

// The rows of `table` in the base, as COPY lines, in stored order.
inline std::vector<std::string> BaseRows(sinks::ObjectStore* store, const v1::BaseTable& table) {
  std::vector<std::string> lines;
  uint64_t counted = 0;
  for (const std::string& key : table.object_keys()) {
    auto source = store->Open(key);
    EXPECT_TRUE(source.ok()) << source.status();
    if (!source.ok()) return lines;
    auto reader = proto::SegmentReader::Open(source->get());
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return lines;
    EXPECT_EQ((*reader)->header().kind(), v1::BASE_SEGMENT);
    v1::Record record;
    bool first = true;
    while (true) {
      auto more = (*reader)->Next(&record);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      if (first) {
        EXPECT_TRUE(record.has_relation_def()) << key;
        EXPECT_EQ(record.relation_def().oid(), table.relation().oid());
        first = false;
        continue;
      }
      EXPECT_TRUE(record.has_copy_rows()) << key;
      EXPECT_EQ(record.copy_rows().relation_oid(), table.relation().oid());
      counted += record.copy_rows().row_count();
      for (absl::string_view line :
           absl::StrSplit(record.copy_rows().data(), '\n', absl::SkipEmpty())) {
        lines.emplace_back(line);
      }
    }
  }
  EXPECT_EQ(counted, lines.size());
  return lines;
}

inline const v1::BaseTable* FindTable(const v1::BaseManifest& manifest, absl::string_view name) {
  for (const v1::BaseTable& table : manifest.tables()) {
    if (table.relation().table() == name) return &table;
  }
  ADD_FAILURE() << "no table " << name << " in the manifest";
  return nullptr;
}

class BaseSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", kSchema).status());
    char pattern[] = "/tmp/walship-base-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    stores_.clear();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  sinks::ObjectStore* NewStore() {
    auto store = sinks::OpenObjectStore(absl::StrCat("file://", dir_, "/store", stores_.size()));
    EXPECT_TRUE(store.ok()) << store.status();
    stores_.push_back(*std::move(store));
    return stores_.back().get();
  }

  SnapshotOptions Options(int jobs) {
    SnapshotOptions options;
    options.conninfo = pg_->ConnInfo("crm");
    options.publication = "walship";
    options.slot = "walship";
    options.jobs = jobs;
    return options;
  }

  std::vector<std::string> Keys(sinks::ObjectStore* store, absl::string_view part = "") {
    auto listed = store->List("");
    EXPECT_TRUE(listed.ok());
    std::vector<std::string> keys;
    for (const auto& info : *listed) {
      if (absl::StrContains(info.key, part)) keys.push_back(info.key);
    }
    return keys;
  }

  // "<count> <md5>" of a table as the source holds it now, computed as
  // BaseTable.checksum documents.
  // "<rows> <row digest>" of `relation` as the quiesced source holds it now, computed by the
  // test's own witness over the rows COPY sends.
  std::string FreshCountAndDigest(const v1::Relation& relation) {
    auto conn = pg::PgConnection::Connect(pg_->ConnInfo("crm"), pg::ConnectionKind::kNormal);
    EXPECT_TRUE(conn.ok()) << conn.status();
    if (!conn.ok()) return "";
    std::vector<std::string> columns, lines;
    for (const v1::Column& column : relation.columns()) {
      columns.push_back(pg::QuoteIdent(column.name()));
    }
    auto rows = (*conn)->CopyOut(
        absl::StrCat("COPY (SELECT ", absl::StrJoin(columns, ", "), " FROM ONLY ",
                     pg::QuoteQualified(relation.schema(), relation.table()), ") TO STDOUT"),
        [&lines](absl::string_view line) { lines.emplace_back(line); });
    EXPECT_TRUE(rows.ok()) << rows.status();
    return absl::StrCat(lines.size(), " ", testing::WitnessRowDigest(lines));
  }

  std::unique_ptr<PgCluster> pg_;
  std::string dir_;
  std::vector<std::unique_ptr<sinks::ObjectStore>> stores_;
};

}  // namespace walship::agent::snapshot

#endif  // WALSHIP_TESTS_INTEGRATION_BASE_SNAPSHOT_FIXTURE_H_
