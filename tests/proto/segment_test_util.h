// Builders shared by the segment codec tests: records, headers, whole segments in memory,
// a re-sealer that recomputes the footer checksum after a deliberate edit, and a temp dir.
#ifndef WALSHIP_TESTS_PROTO_SEGMENT_TEST_UTIL_H_
#define WALSHIP_TESTS_PROTO_SEGMENT_TEST_UTIL_H_

#include <stdlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/segment_coding.h"
#include "proto/segment_format.h"
#include "proto/segment_reader.h"
#include "proto/segment_writer.h"
#include "proto/walship.pb.h"

namespace walship::proto::testing {

inline constexpr char kObjectName[] = "sys/slot/wal/0000000001000000-0000000002000000.seg";

inline v1::SegmentHeader MakeHeader(v1::Codec codec) {
  v1::SegmentHeader header;
  header.set_codec(codec);
  header.set_kind(v1::CHANGE_SEGMENT);
  header.set_system_id("7301234567890123456");
  header.set_timeline(1);
  header.set_database("crm");
  header.set_slot("walship");
  header.set_created_time_us(1700000000000000);
  (*header.mutable_session()->mutable_settings())["TimeZone"] = "UTC";
  (*header.mutable_session()->mutable_settings())["DateStyle"] = "ISO";
  header.mutable_session()->set_server_version("15.5");
  return header;
}

inline v1::Relation MakeRelation(uint32_t oid) {
  v1::Relation relation;
  relation.set_oid(oid);
  relation.set_schema("public");
  relation.set_table(absl::StrCat("t", oid));
  relation.set_replica_identity(v1::REPLICA_IDENTITY_DEFAULT);
  v1::Column* id = relation.add_columns();
  id->set_name("id");
  id->set_type_oid(20);
  id->set_type_name("int8");
  id->set_type_modifier(-1);
  id->set_key(true);
  v1::Column* note = relation.add_columns();
  note->set_name("note");
  note->set_type_oid(25);
  note->set_type_name("text");
  note->set_type_modifier(-1);
  return relation;
}

inline v1::Record RelationDef(uint32_t oid) {
  v1::Record record;
  *record.mutable_relation_def() = MakeRelation(oid);
  return record;
}

// An INSERT of (id, note) into relation `oid`, in transaction (xid, commit_lsn).
inline v1::Record Insert(uint64_t commit_lsn, uint32_t sequence, uint32_t xid, uint32_t oid,
                         const std::string& id, const std::string& note) {
  v1::Record record;
  v1::Event* event = record.mutable_event();
  event->set_commit_lsn(commit_lsn);
  event->set_sequence(sequence);
  event->set_xid(xid);
  event->set_commit_time_us(static_cast<int64_t>(1700000000000000 + commit_lsn));
  event->set_end_lsn(commit_lsn + 0x30);
  event->set_op(v1::INSERT);
  event->mutable_relation()->set_oid(oid);
  event->mutable_new_row()->add_values()->set_text(id);
  event->mutable_new_row()->add_values()->set_text(note);
  return record;
}

inline v1::Record Message(uint64_t commit_lsn, uint32_t sequence, uint32_t xid,
                          const std::string& prefix, const std::string& content) {
  v1::Record record;
  v1::Event* event = record.mutable_event();
  event->set_commit_lsn(commit_lsn);
  event->set_sequence(sequence);
  event->set_xid(xid);
  event->set_commit_time_us(static_cast<int64_t>(1700000000000000 + commit_lsn));
  event->set_end_lsn(commit_lsn + 0x30);
  event->set_op(v1::MESSAGE);
  event->mutable_message()->set_prefix(prefix);
  event->mutable_message()->set_content(content);
  event->mutable_message()->set_transactional(true);
  return record;
}

// Writes `records` into a finished segment and returns its bytes.
inline std::string WriteSegment(const std::vector<v1::Record>& records, v1::Codec codec,
                                uint64_t previous_end_lsn = 0) {
  StringByteSink sink;
  auto writer = SegmentWriter::Create(&sink, MakeHeader(codec));
  EXPECT_TRUE(writer.ok()) << writer.status();
  if (!writer.ok()) return "";
  for (const v1::Record& record : records) {
    absl::Status status = (*writer)->Add(record);
    EXPECT_TRUE(status.ok()) << status;
  }
  absl::Status status = (*writer)->Finish(previous_end_lsn);
  EXPECT_TRUE(status.ok()) << status;
  return sink.Release();
}

// Recomputes the footer's SHA-256 after a test edited bytes before the footer, so that
// checks behind the whole-object checksum can be reached.
inline void Reseal(std::string* segment) {
  const size_t hashed = segment->size() - kFooterBytes;
  internal::Sha256 sha;
  sha.Update(absl::string_view(segment->data(), hashed));
  std::array<unsigned char, 32> digest = sha.Finish();
  segment->replace(hashed + 4, digest.size(), reinterpret_cast<const char*>(digest.data()),
                   digest.size());
}

inline uint32_t ReadU32(const std::string& bytes, size_t offset) {
  return internal::GetFixed32(bytes.data() + offset);
}
inline void WriteU32(std::string* bytes, size_t offset, uint32_t value) {
  std::string encoded;
  internal::PutFixed32(&encoded, value);
  bytes->replace(offset, 4, encoded);
}
// Offset of the first frame (just past the header).
inline size_t FirstFrameOffset(const std::string& segment) {
  return sizeof(kSegmentMagic) + 4 + ReadU32(segment, sizeof(kSegmentMagic));
}
inline size_t TrailerOffset(const std::string& segment) {
  return ReadU32(segment, segment.size() - kFooterBytes);
}

// Opens `segment` and reads every record; returns the first error.
inline absl::StatusOr<std::vector<v1::Record>> ReadAll(const RandomAccessSource& source) {
  auto reader = SegmentReader::Open(&source);
  if (!reader.ok()) return reader.status();
  std::vector<v1::Record> records;
  while (true) {
    v1::Record record;
    absl::StatusOr<bool> more = (*reader)->Next(&record);
    if (!more.ok()) return more.status();
    if (!*more) return records;
    records.push_back(std::move(record));
  }
}

inline absl::StatusOr<std::vector<v1::Record>> ReadAll(const std::string& segment) {
  std::unique_ptr<RandomAccessSource> source = MakeStringSource(kObjectName, segment);
  return ReadAll(*source);
}

// A fresh directory under the test temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "walship_proto_XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace walship::proto::testing

#endif  // WALSHIP_TESTS_PROTO_SEGMENT_TEST_UTIL_H_
