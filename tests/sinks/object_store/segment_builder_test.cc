// Tests for SegmentBuilder's staging files: private mode, and the check before upload that
// a staged segment is still what was written.
#include "sinks/object_store/segment_builder.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/segment_format.h"
#include "sinks/object_store/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"

namespace walship::sinks {
namespace {

using ::testing::HasSubstr;

// A staged segment is written 0600 and checked against what was written before upload: a
// file changed on disk (one byte, or swapped for another valid segment) is never stored.
TEST(SegmentBuilderStaging, StagedFilesArePrivateAndAChangedOneIsRefused) {
  ::walship::testing::TempDir dir;
  v1::Relation relation = ::walship::testing::MakeRelation(16384, "deals");
  auto build = [&](const std::string& name, uint64_t lsn) -> FinishedSegment {
    v1::SegmentHeader header;
    header.set_system_id("7301");
    header.set_codec(v1::CODEC_ZSTD);
    header.set_kind(v1::CHANGE_SEGMENT);
    auto builder = SegmentBuilder::Create(dir.Sub(name), header, 3, absl::Now());
    EXPECT_OK(builder.status());
    struct stat st;
    EXPECT_EQ(::stat(dir.Sub(name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_OK((*builder)->AddTransaction(::walship::testing::MakeTransaction(7, lsn, relation, 5)));
    auto finished = (*builder)->Finish(Lsn());
    EXPECT_OK(finished.status());
    return *finished;
  };
  FinishedSegment a = build("a.seg", 0x1000);
  FinishedSegment b = build("b.seg", 0x2000);
  EXPECT_EQ(a.footer.size(), proto::kFooterBytes);
  ASSERT_OK(sinks::VerifyStagedSegment(a.path, a.bytes, a.footer));

  // Swapped for another, self-consistent segment of the same size.
  ASSERT_OK_AND_ASSIGN(std::string original, sinks::ReadFile(a.path));
  std::filesystem::copy_file(b.path, a.path, std::filesystem::copy_options::overwrite_existing);
  absl::Status swapped = sinks::VerifyStagedSegment(a.path, a.bytes, a.footer);
  EXPECT_EQ(swapped.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(swapped.message(), HasSubstr("changed on disk"));
  EXPECT_THAT(swapped.message(), HasSubstr(a.path));

  // One byte changed in the middle.
  std::string flipped = original;
  flipped[flipped.size() / 2] ^= 0x01;
  std::ofstream(a.path, std::ios::binary | std::ios::trunc) << flipped;
  EXPECT_EQ(sinks::VerifyStagedSegment(a.path, a.bytes, a.footer).code(),
            absl::StatusCode::kDataLoss);
  // Put back: accepted again (the check compares content, not times).
  std::ofstream(a.path, std::ios::binary | std::ios::trunc) << original;
  EXPECT_OK(sinks::VerifyStagedSegment(a.path, a.bytes, a.footer));
}

}  // namespace
}  // namespace walship::sinks
