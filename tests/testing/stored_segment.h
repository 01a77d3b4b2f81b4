// ReadStoredSegment(): reads one segment object back from a store (header, trailer, every
// record), for tests that check what a sink or a snapshot stored.
#ifndef WALSHIP_TESTS_TESTING_STORED_SEGMENT_H_
#define WALSHIP_TESTS_TESTING_STORED_SEGMENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/segment_reader.h"
#include "proto/walship.pb.h"
#include "sinks/object_store/object_store.h"

namespace walship::testing {

struct StoredSegment {
  std::string key;
  v1::SegmentHeader header;
  v1::SegmentTrailer trailer;
  std::vector<v1::Record> records;
};

// Any error of opening or reading the object (missing, corrupt, wrong key) is returned.
inline absl::StatusOr<StoredSegment> ReadStoredSegment(sinks::ObjectStore& store,
                                                       const std::string& key) {
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> source = store.Open(key);
  if (!source.ok()) return source.status();
  absl::StatusOr<std::unique_ptr<proto::SegmentReader>> reader =
      proto::SegmentReader::Open(source->get());
  if (!reader.ok()) return reader.status();
  StoredSegment segment;
  segment.key = key;
  segment.header = (*reader)->header();
  v1::Record record;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&record);
    if (!more.ok()) return more.status();
    if (!*more) break;
    segment.records.push_back(record);
  }
  segment.trailer = (*reader)->trailer();
  return segment;
}

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_STORED_SEGMENT_H_
