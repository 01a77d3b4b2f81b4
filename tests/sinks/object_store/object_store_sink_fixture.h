// The fixture of the object-store sink's tests: a sink over a local directory store with a
// staging directory, its change segments read back, and records compared byte for byte.
#ifndef WALSHIP_TESTS_SINKS_OBJECT_STORE_OBJECT_STORE_SINK_FIXTURE_H_
#define WALSHIP_TESTS_SINKS_OBJECT_STORE_OBJECT_STORE_SINK_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/transaction.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/local_dir_store.h"
#include "sinks/object_store/object_store_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/stored_segment.h"
#include "tests/testing/temp_dir.h"

namespace walship::sinks {

using ReadSegment = ::walship::testing::StoredSegment;

class ObjectStoreSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, LocalDirStore::OpenDir(dir_.Sub("store")));
    options_.stream = StreamId{"7301234567890123456", "walship"};
    options_.staging_dir = dir_.Sub("staging");
    options_.segment_max_age = absl::Hours(1);
    options_.header_template.set_system_id("7301234567890123456");
    options_.header_template.set_slot("walship");
    (*options_.header_template.mutable_session()->mutable_settings())["TimeZone"] = "UTC";
  }

  std::unique_ptr<Sink> Open(ObjectStore* store = nullptr) {
    auto sink = OpenObjectStoreSink(store ? store : store_.get(), options_);
    EXPECT_TRUE(sink.ok()) << sink.status();
    return sink.ok() ? *std::move(sink) : nullptr;
  }

  std::vector<ObjectInfo> ListWal() {
    auto objects = store_->List(options_.stream.Prefix() + "wal/");
    EXPECT_TRUE(objects.ok()) << objects.status();
    return objects.ok() ? *objects : std::vector<ObjectInfo>{};
  }

  std::vector<ReadSegment> ReadAllSegments() {
    std::vector<ReadSegment> segments;
    for (const ObjectInfo& object : ListWal()) {
      absl::StatusOr<ReadSegment> segment = ::walship::testing::ReadStoredSegment(*store_, object.key);
      EXPECT_TRUE(segment.ok()) << segment.status();
      if (segment.ok()) segments.push_back(*std::move(segment));
    }
    return segments;
  }

  static Lsn End(const proto::Transaction& txn) { return txn.info().end_lsn; }

  ::walship::testing::TempDir dir_;
  std::unique_ptr<LocalDirStore> store_;
  ObjectStoreSinkOptions options_;
};

inline bool SameRecord(const v1::Record& a, const v1::Record& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

inline void ExpectRecords(const std::vector<v1::Record>& actual,
                          const std::vector<v1::Record>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_TRUE(SameRecord(actual[i], expected[i]))
        << "record " << i << ":\n" << actual[i].DebugString() << "expected:\n"
        << expected[i].DebugString();
  }
}

}  // namespace walship::sinks

#endif  // WALSHIP_TESTS_SINKS_OBJECT_STORE_OBJECT_STORE_SINK_FIXTURE_H_
