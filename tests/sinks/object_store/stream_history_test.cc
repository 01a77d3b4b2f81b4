// Index checksums, incarnation and gap records, the stored chain and its keys.
#include "sinks/object_store/stream_history.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/local_dir_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using ::testing::HasSubstr;

v1::SegmentIndex SampleIndex() {
  v1::SegmentIndex index;
  index.set_segment_key("7301/walship/wal/0000000000001000-0000000000002000.seg");
  index.set_segment_bytes(4242);
  index.mutable_trailer()->set_first_commit_lsn(0x1000);
  index.mutable_trailer()->set_last_end_lsn(0x2000);
  index.mutable_trailer()->set_previous_end_lsn(0x0F00);
  index.mutable_trailer()->set_transaction_count(3);
  index.set_system_id("7301");
  index.set_timeline(1);
  index.set_incarnation(2);
  index.set_incarnation_id("00112233aabbccdd");
  return index;
}

constexpr char kIndexKey[] = "7301/walship/index/0000000000002000.idx";

TEST(SegmentIndexCodec, RoundTripsWithItsIdentity) {
  std::string bytes = EncodeSegmentIndex(SampleIndex());
  ASSERT_OK_AND_ASSIGN(v1::SegmentIndex back, DecodeSegmentIndex(kIndexKey, bytes));
  EXPECT_EQ(back.format_version(), kIndexFormatVersion);
  EXPECT_EQ(back.incarnation(), 2u);
  EXPECT_EQ(back.trailer().previous_end_lsn(), 0x0F00u);
  EXPECT_EQ(back.checksum().size(), 32u);
}

// Every single flipped bit is an error naming the object: never a different index.
TEST(SegmentIndexCodec, EveryFlippedBitIsAnErrorNamingTheObject) {
  const std::string bytes = EncodeSegmentIndex(SampleIndex());
  for (size_t i = 0; i < bytes.size() * 8; ++i) {
    std::string flipped = bytes;
    flipped[i / 8] = static_cast<char>(flipped[i / 8] ^ (1 << (i % 8)));
    absl::StatusOr<v1::SegmentIndex> decoded = DecodeSegmentIndex(kIndexKey, flipped);
    ASSERT_FALSE(decoded.ok()) << "bit " << i << " flipped went unnoticed";
    EXPECT_THAT(decoded.status().message(), HasSubstr(kIndexKey)) << "bit " << i;
  }
  // Truncated at every length too.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeSegmentIndex(kIndexKey, bytes.substr(0, n)).ok()) << n;
  }
}

TEST(SegmentIndexCodec, FormatOneIsReadAndANewerFormatIsRefusedByName) {
  v1::SegmentIndex old;
  *old.mutable_trailer() = SampleIndex().trailer();
  old.set_segment_key(SampleIndex().segment_key());
  ASSERT_OK_AND_ASSIGN(v1::SegmentIndex back,
                       DecodeSegmentIndex(kIndexKey, old.SerializeAsString()));
  EXPECT_EQ(back.trailer().last_end_lsn(), 0x2000u);

  v1::SegmentIndex newer = SampleIndex();
  newer.set_format_version(kIndexFormatVersion + 1);
  absl::StatusOr<v1::SegmentIndex> refused =
      DecodeSegmentIndex(kIndexKey, newer.SerializeAsString());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("newer"));
  EXPECT_THAT(refused.status().message(), HasSubstr(kIndexKey));
  // The end LSN must match the name.
  EXPECT_THAT(DecodeSegmentIndex("7301/walship/index/0000000000003000.idx",
                                 EncodeSegmentIndex(SampleIndex()))
                  .status()
                  .message(),
              HasSubstr("not at the LSN in its name"));
}

TEST(StoredChain, RunsFollowThePreviousEndLinks) {
  std::vector<ChainLink> links = {
      {"c", Lsn(0x500), Lsn(0x600), Lsn(0x400)},  // after a missing 0x300..0x400
      {"a", Lsn(0x100), Lsn(0x200), Lsn()},
      {"b", Lsn(0x250), Lsn(0x300), Lsn(0x200)},
      {"b-again", Lsn(0x250), Lsn(0x300), Lsn(0x200)},  // written twice: ignored
      {"d", Lsn(0x650), Lsn(0x700), Lsn(0x600)},
  };
  StoredChain chain = BuildChain(links);
  ASSERT_EQ(chain.runs.size(), 2u);
  EXPECT_EQ(chain.runs[0].end, Lsn(0x300));
  EXPECT_EQ(chain.runs[0].segments, 2u);
  EXPECT_EQ(chain.runs[1].start, Lsn(0x400));
  EXPECT_EQ(chain.runs[1].end, Lsn(0x700));
  EXPECT_EQ(chain.End(), Lsn(0x700));
}

TEST(StreamHistoryKeys, IncarnationAndGapKeys) {
  StreamId root("7301", "walship");
  EXPECT_EQ(IncarnationKey(root, 2), "7301/walship/incarnation/00000002.json");
  EXPECT_EQ(ParseIncarnationKey("7301/walship/incarnation/00000002.json"), 2u);
  EXPECT_FALSE(ParseIncarnationKey("7301/walship/incarnation/0000000x.json").has_value());
  EXPECT_FALSE(ParseIncarnationKey("7301/walship/incarnation/00000000.json").has_value());
  StreamId branch("7301", "walship", BranchName(2));
  EXPECT_EQ(branch.Prefix(), "7301/walship/timeline-00000002/");
  EXPECT_EQ(branch.RootPrefix(), "7301/walship/");
  EXPECT_EQ(GapKey(branch, Lsn(0x10), Lsn(0x20)),
            "7301/walship/timeline-00000002/gap/0000000000000010-0000000000000020.json");
  EXPECT_EQ(IncarnationKey(branch, 3), "7301/walship/incarnation/00000003.json");
}

class StreamHistoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, LocalDirStore::OpenDir(dir_.Sub("store")));
  }
  ::walship::testing::TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(StreamHistoryStoreTest, IncarnationRecordsAreWrittenOnceAndCheckedWhenRead) {
  StreamId root("7301", "walship");
  v1::StreamIncarnation record;
  record.set_format_version(kIncarnationFormatVersion);
  record.set_number(1);
  record.set_id("0011223344556677");
  record.set_system_id("7301");
  record.set_timeline(1);
  record.set_slot("walship");
  record.set_reason("first");
  ASSERT_OK(PutIncarnation(*store_, root, record));
  ASSERT_OK(PutIncarnation(*store_, root, record));  // the same again: fine
  v1::StreamIncarnation other = record;
  other.set_id("ffffffffffffffff");
  absl::Status clash = PutIncarnation(*store_, root, other);
  EXPECT_EQ(clash.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(clash.message(), HasSubstr("another agent"));
  ASSERT_OK_AND_ASSIGN(auto loaded, LoadIncarnations(*store_, root));
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].id(), "0011223344556677");

  // A record whose number does not match its name is damaged.
  v1::StreamIncarnation wrong = record;
  wrong.set_number(5);
  ASSERT_OK(store_->Put(IncarnationKey(root, 4), EncodeIncarnation(wrong)));
  absl::Status damaged = LoadIncarnations(*store_, root).status();
  EXPECT_EQ(damaged.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(damaged.message(), HasSubstr("00000004.json"));
}

TEST_F(StreamHistoryStoreTest, GapRecordsListInOrder) {
  StreamId root("7301", "walship");
  v1::GapRecord late, early;
  late.set_from_lsn(0x500);
  late.set_to_lsn(0x600);
  early.set_from_lsn(0x100);
  early.set_to_lsn(0x200);
  early.set_reason("slot re-created");
  ASSERT_OK(PutGapRecord(*store_, root, late));
  ASSERT_OK(PutGapRecord(*store_, root, early));
  ASSERT_OK(PutGapRecord(*store_, root, early));
  ASSERT_OK_AND_ASSIGN(auto gaps, LoadGapRecords(*store_, root));
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].reason(), "slot re-created");
  EXPECT_EQ(gaps[1].from_lsn(), 0x500u);
}

}  // namespace
}  // namespace walship::sinks
