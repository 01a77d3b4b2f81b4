// Encryption at rest end to end over a real local directory: segments written with
// compression off, directly and through the object-store sink, leave no plaintext row data
// on disk, read back equal through Open(), and fail clearly with the wrong or a missing
// key, after tampering, or when copied under another name.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/segment_reader.h"
#include "proto/segment_writer.h"
#include "sinks/object_store/encryption/encrypted_store.h"
#include "sinks/object_store/layout.h"
#include "sinks/object_store/local_dir_store.h"
#include "sinks/object_store/object_store_sink.h"
#include "tests/testing/encryption_keys.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/stored_segment.h"

namespace walship::sinks {
namespace {

using ::walship::testing::Ring;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

constexpr char kCanary[] = "PLAINTEXT-CANARY-7f3a";

std::string ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every regular file under `dir` whose bytes contain `needle` (the grep of the issue).
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    if (ReadWholeFile(entry.path()).find(needle) != std::string::npos) {
      hits.push_back(entry.path().string());
    }
  }
  return hits;
}

size_t RegularFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) ++n;
  }
  return n;
}

v1::SegmentHeader MakeHeader() {
  v1::SegmentHeader header;
  header.set_codec(v1::CODEC_NONE);
  header.set_kind(v1::CHANGE_SEGMENT);
  header.set_system_id("7123");
  header.set_slot("walship");
  return header;
}

// Records of a few transactions, each row carrying the canary.
std::vector<v1::Record> CanaryRecords(int transactions) {
  std::vector<v1::Record> records;
  v1::Relation contacts = ::walship::testing::MakeRelation(16384, "contacts");
  for (int t = 0; t < transactions; ++t) {
    auto txn = ::walship::testing::MakeTransaction(700 + t, 0x1000 * (t + 1), contacts, 50, kCanary);
    records.insert(records.end(), txn.records().begin(), txn.records().end());
  }
  return records;
}

std::string WriteSegment(const std::vector<v1::Record>& records) {
  proto::StringByteSink sink;
  auto writer = proto::SegmentWriter::Create(&sink, MakeHeader());
  EXPECT_TRUE(writer.ok()) << writer.status();
  for (const v1::Record& record : records) EXPECT_OK((*writer)->Add(record));
  EXPECT_OK((*writer)->Finish(0));
  return sink.Release();
}

// All records of the segment `key`, read through `store`'s Open().
absl::StatusOr<std::vector<v1::Record>> ReadSegment(ObjectStore* store, const std::string& key) {
  absl::StatusOr<::walship::testing::StoredSegment> segment =
      ::walship::testing::ReadStoredSegment(*store, key);
  if (!segment.ok()) return segment.status();
  return std::move(segment->records);
}

bool SameRecords(const std::vector<v1::Record>& a, const std::vector<v1::Record>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

class EncryptionIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Sub("store");
    ASSERT_OK_AND_ASSIGN(plain_, LocalDirStore::OpenDir(root_));
    encrypted_ = EncryptedOver(Ring({{"k2024", 1}}));
  }
  // Another view of the same directory with `ring`.
  std::unique_ptr<ObjectStore> EncryptedOver(std::shared_ptr<const KeyRing> ring) {
    auto local = LocalDirStore::OpenDir(root_);
    EXPECT_TRUE(local.ok()) << local.status();
    return std::make_unique<EncryptedObjectStore>(*std::move(local), std::move(ring));
  }
  std::string PathOf(const std::string& key) { return root_ + "/" + key; }

  ::walship::testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<LocalDirStore> plain_;
  std::unique_ptr<ObjectStore> encrypted_;
};

// The grep below can find the canary: without encryption it is on disk in the clear.
TEST_F(EncryptionIntegrationTest, WithoutEncryptionTheCanaryIsOnDisk) {
  ASSERT_OK(plain_->Put("7123/walship/wal/plain.seg", WriteSegment(CanaryRecords(1))));
  EXPECT_THAT(FilesContaining(root_, kCanary), SizeIs(1));
}

TEST_F(EncryptionIntegrationTest, SegmentsLeaveNoPlaintextOnDiskAndReadBackEqual) {
  std::vector<v1::Record> records = CanaryRecords(40);  // > 64 KiB: several chunks
  std::string segment = WriteSegment(records);
  ASSERT_GT(segment.size(), 2u * 64 * 1024);
  ASSERT_NE(segment.find(kCanary), std::string::npos);  // compression really is off
  const std::string put_key = "7123/walship/wal/0000000000001000-0000000000028028.seg";
  const std::string file_key = "7123/walship/base/0000000000001000/public.contacts.0.seg";
  ASSERT_OK(encrypted_->Put(put_key, segment));
  std::string spool = dir_.Sub("segment.tmp");
  { std::ofstream(spool, std::ios::binary) << segment; }
  ASSERT_OK(encrypted_->PutFile(file_key, spool));

  EXPECT_EQ(RegularFiles(root_), 2u);
  EXPECT_THAT(FilesContaining(root_, kCanary), SizeIs(0));
  EXPECT_THAT(FilesContaining(dir_.path(), kCanary), SizeIs(0));  // nor the spool area
  EXPECT_THAT(FilesContaining(root_, "contacts"), SizeIs(0));

  for (const std::string& key : {put_key, file_key}) {
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> read, ReadSegment(encrypted_.get(), key));
    EXPECT_TRUE(SameRecords(read, records)) << key;
  }
  // A reader without encryption configured sees no segment, never rows.
  EXPECT_THAT(ReadSegment(plain_.get(), put_key), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(EncryptionIntegrationTest, WrongOrMissingKeyFailsClearlyAndYieldsNoRows) {
  const std::string key = "7123/walship/wal/0000000000001000-0000000000002028.seg";
  ASSERT_OK(encrypted_->Put(key, WriteSegment(CanaryRecords(3))));
  EXPECT_THAT(ReadSegment(EncryptedOver(Ring({{"other", 2}})).get(), key),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is encrypted with key \"k2024\", which is not in the key ring")));
  EXPECT_THAT(ReadSegment(EncryptedOver(Ring({{"k2024", 2}})).get(), key),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("object \"" + key +
                                                              "\" failed authentication with key "
                                                              "\"k2024\"")));
  // After rotation the old key still reads.
  EXPECT_THAT(ReadSegment(EncryptedOver(Ring({{"k2025", 2}, {"k2024", 1}})).get(), key), IsOk());
}

TEST_F(EncryptionIntegrationTest, TamperedOrCopiedFilesOnDiskAreRefused) {
  const std::string key = "7123/walship/wal/0000000000001000-0000000000002028.seg";
  std::vector<v1::Record> records = CanaryRecords(30);
  ASSERT_OK(encrypted_->Put(key, WriteSegment(records)));
  const std::string original = ReadWholeFile(PathOf(key));

  // Copied under another key name (as an attacker with bucket access might).
  const std::string copy = "7123/walship/wal/0000000000003000-0000000000004028.seg";
  std::filesystem::create_directories(std::filesystem::path(PathOf(copy)).parent_path());
  std::filesystem::copy_file(PathOf(key), PathOf(copy));
  EXPECT_THAT(ReadSegment(encrypted_.get(), copy),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("copied from another key name")));

  // One byte flipped in the middle of the first chunk: the object cannot be read.
  std::string tampered = original;
  tampered[200] ^= 0x20;
  { std::ofstream(PathOf(key), std::ios::binary | std::ios::trunc) << tampered; }
  EXPECT_THAT(ReadSegment(encrypted_.get(), key),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("failed authentication")));

  // Cut short at a chunk boundary.
  size_t boundary = 26 + 5 + (64 * 1024 + 16);  // header with key id "k2024", one chunk
  {
    std::ofstream(PathOf(key), std::ios::binary | std::ios::trunc) << original.substr(0, boundary);
  }
  EXPECT_THAT(ReadSegment(encrypted_.get(), key),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));

  // Restored, it reads again.
  { std::ofstream(PathOf(key), std::ios::binary | std::ios::trunc) << original; }
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> read, ReadSegment(encrypted_.get(), key));
  EXPECT_TRUE(SameRecords(read, records));
}

// The object-store sink over the encrypted store: segments and index objects alike are
// encrypted, and a restarted sink finds where the stored stream ends through the decorator.
TEST_F(EncryptionIntegrationTest, ObjectStoreSinkWritesOnlyCiphertext) {
  ObjectStoreSinkOptions options;
  options.stream = StreamId{"7123", "walship"};
  options.staging_dir = dir_.Sub("staging");
  options.segment_max_age = absl::Hours(1);
  options.segment_max_bytes = 48 * 1024;
  options.zstd_level = 0;  // compression off: only encryption can hide the rows
  options.header_template.set_system_id("7123");
  options.header_template.set_slot("walship");

  v1::Relation contacts = ::walship::testing::MakeRelation(16384, "contacts");
  std::vector<proto::InMemoryTransaction> txns;
  for (int t = 0; t < 60; ++t) {
    txns.push_back(::walship::testing::MakeTransaction(900 + t, 0x10000 * (t + 1), contacts, 40, kCanary));
  }
  Lsn last_end = txns.back().info().end_lsn;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink,
                         OpenObjectStoreSink(encrypted_.get(), options));
    for (const auto& txn : txns) ASSERT_OK(sink->Write(txn));
    ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
    EXPECT_EQ(sink->DurableWatermark(), last_end);
    ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(30)));
  }

  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> wal,
                       encrypted_->List(options.stream.Prefix() + "wal/"));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> index,
                       encrypted_->List(options.stream.Prefix() + "index/"));
  ASSERT_GE(wal.size(), 2u);
  EXPECT_EQ(index.size(), wal.size());
  EXPECT_THAT(FilesContaining(root_, kCanary), SizeIs(0));
  EXPECT_THAT(FilesContaining(dir_.path(), kCanary), SizeIs(0));

  uint64_t canary_values = 0;
  for (const ObjectInfo& object : wal) {
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Record> records,
                         ReadSegment(encrypted_.get(), object.key));
    for (const v1::Record& record : records) {
      if (record.has_event() && record.event().new_row().values_size() > 1 &&
          record.event().new_row().values(1).text().find(kCanary) == 0) {
        ++canary_values;
      }
    }
  }
  EXPECT_EQ(canary_values, 60u * 40u);
  for (const ObjectInfo& object : index) {
    ASSERT_OK_AND_ASSIGN(std::string bytes, encrypted_->Get(object.key));
    v1::SegmentIndex parsed;
    ASSERT_TRUE(parsed.ParseFromString(bytes)) << object.key;
    EXPECT_THAT(parsed.segment_key(), HasSubstr("/wal/"));
    // The index is encrypted on disk too: its plaintext names the segment, its file must not.
    EXPECT_EQ(ReadWholeFile(PathOf(object.key)).find(parsed.segment_key()), std::string::npos);
  }

  // A restarted sink reads the stored trailers through the decorator.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> reopened,
                       OpenObjectStoreSink(encrypted_.get(), options));
  EXPECT_EQ(reopened->DurableWatermark(), last_end);
  ASSERT_OK(reopened->Close(absl::Now() + absl::Seconds(10)));
}

}  // namespace
}  // namespace walship::sinks
