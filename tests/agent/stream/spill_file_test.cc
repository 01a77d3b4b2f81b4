// SpillFile: the on-disk half of a large transaction, and start-up cleanup of leftovers.
#include "agent/stream/spill_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/stream/stream_test_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;
using ::walship::testing::TempDir;
using ::walship::testing::StatusIs;

v1::Record Event(uint32_t sequence, std::string payload) {
  v1::Record record;
  record.mutable_event()->set_sequence(sequence);
  record.mutable_event()->mutable_new_row()->add_values()->set_text(std::move(payload));
  return record;
}

std::vector<std::pair<Xid, std::string>> ReadAll(const SpillFile& file) {
  std::vector<std::pair<Xid, std::string>> entries;
  absl::Status status = file.ForEach([&](Xid subxid, v1::Record& record) {
    entries.emplace_back(subxid, record.SerializeAsString());
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return entries;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

TEST(SpillFile, RoundTripsEntriesInOrderAnyNumberOfTimes) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto file, SpillFile::Create(dir.path(), Xid(700)));
  std::vector<std::pair<Xid, std::string>> expected;
  for (uint32_t i = 1; i <= 1000; ++i) {
    v1::Record record = Event(i, std::string(i % 300, 'q'));
    Xid subxid(700 + i % 3);
    ASSERT_OK(file->Append(subxid, record));
    expected.emplace_back(subxid, record.SerializeAsString());
  }
  ASSERT_OK(file->FinishWriting());
  EXPECT_EQ(ReadAll(*file), expected);
  EXPECT_EQ(ReadAll(*file), expected);

  std::vector<std::string> files = dir.Files("spill-", ".tmp");
  ASSERT_THAT(files, SizeIs(1));
  EXPECT_EQ(std::filesystem::file_size(dir.path() + "/" + files[0]), file->bytes());
}

TEST(SpillFile, RecordsLargerThanTheIoBufferRoundTrip) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto file, SpillFile::Create(dir.path(), Xid(700)));
  std::vector<std::pair<Xid, std::string>> expected;
  for (uint32_t i = 1; i <= 4; ++i) {
    // 3 MiB, then small, then 1 MiB + 1: entries straddle every read chunk boundary.
    size_t size = i % 2 == 1 ? (3u << 20) + i : 17;
    if (i == 4) size = (1u << 20) + 1;
    v1::Record record = Event(i, std::string(size, static_cast<char>('a' + i)));
    ASSERT_OK(file->Append(Xid(700), record));
    expected.emplace_back(700, record.SerializeAsString());
  }
  ASSERT_OK(file->FinishWriting());
  EXPECT_EQ(ReadAll(*file), expected);
}

TEST(SpillFile, EmptyFileHasNoEntries) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto file, SpillFile::Create(dir.path(), Xid(700)));
  ASSERT_OK(file->FinishWriting());
  EXPECT_THAT(ReadAll(*file), IsEmpty());
  EXPECT_EQ(file->bytes(), 0u);
}

TEST(SpillFile, NamedSpillTmpAndRemovedOnDestruction) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto first, SpillFile::Create(dir.path(), Xid(700)));
  ASSERT_OK_AND_ASSIGN(auto second, SpillFile::Create(dir.path(), Xid(700)));
  EXPECT_THAT(dir.Files("spill-", ".tmp"), SizeIs(2));  // same xid, distinct files
  for (const std::string& name : FilesIn(dir.path())) {
    EXPECT_THAT(name, ::testing::StartsWith("spill-700-"));
    EXPECT_THAT(name, ::testing::EndsWith(".tmp"));
  }
  first.reset();
  EXPECT_THAT(dir.Files("spill-", ".tmp"), SizeIs(1));
  second.reset();
  EXPECT_THAT(FilesIn(dir.path()), IsEmpty());
}

TEST(SpillFile, TruncatedFileIsDataLoss) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto file, SpillFile::Create(dir.path(), Xid(700)));
  for (uint32_t i = 1; i <= 10; ++i) ASSERT_OK(file->Append(Xid(700), Event(i, "payload")));
  ASSERT_OK(file->FinishWriting());
  std::vector<std::string> files = dir.Files("spill-", ".tmp");
  ASSERT_THAT(files, SizeIs(1));
  ASSERT_EQ(truncate((dir.path() + "/" + files[0]).c_str(),
                     static_cast<off_t>(file->bytes() - 3)),
            0);
  int calls = 0;
  absl::Status status = file->ForEach([&](Xid, v1::Record&) {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_EQ(calls, 9);
}

TEST(SpillFile, CreateInMissingDirectoryIsAClearError) {
  auto file = SpillFile::Create("/nonexistent-walship-dir/spill", Xid(700));
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()),
              HasSubstr("/nonexistent-walship-dir/spill"));
}

void Touch(const std::string& path) { std::ofstream(path) << "x"; }

TEST(RemoveStaleSpillFiles, RemovesOnlySpillTmpFiles) {
  TempDir dir;
  const std::string& d = dir.path();
  Touch(d + "/spill-700-123-0.tmp");
  Touch(d + "/spill-.tmp");
  Touch(d + "/spill-700-123-1.tmp.keep");
  Touch(d + "/spill-700.txt");
  Touch(d + "/other.tmp");
  Touch(d + "/my-spill-1.tmp");
  Touch(d + "/segment.seg");
  std::filesystem::create_directory(d + "/sub");
  Touch(d + "/sub/spill-1-1-1.tmp");  // not recursive

  RemoveStaleSpillFiles(d);
  EXPECT_THAT(FilesIn(d), UnorderedElementsAre("spill-700-123-1.tmp.keep", "spill-700.txt",
                                               "other.tmp", "my-spill-1.tmp", "segment.seg",
                                               "sub"));
  EXPECT_TRUE(std::filesystem::exists(d + "/sub/spill-1-1-1.tmp"));
}

TEST(RemoveStaleSpillFiles, MissingDirectoryIsHarmless) {
  RemoveStaleSpillFiles("/nonexistent-walship-dir/spill");
}

}  // namespace
}  // namespace walship::agent
