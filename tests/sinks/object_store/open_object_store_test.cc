// Tests for OpenObjectStore(): URL schemes and their errors.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;

TEST(OpenObjectStore, OpensAndCreatesAbsoluteFileDirectory) {
  ::walship::testing::TempDir dir;
  std::string root = dir.Sub("store/nested");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store,
                       OpenObjectStore("file://" + root + "/"));
  EXPECT_EQ(store->url(), "file://" + root);
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(std::string data, store->Get("k"));
  EXPECT_EQ(data, "v");
}

TEST(OpenObjectStore, RefusesRelativeFileUrl) {
  EXPECT_THAT(OpenObjectStore("file://relative/dir"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(OpenObjectStore("file://"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(OpenObjectStore, S3UrlsGoToTheS3Store) {
  // The S3 store's URL parser answers (tests/sinks/object_store/s3 covers the rest).
  EXPECT_THAT(OpenObjectStore("s3://Bad_Bucket/prefix"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Bad_Bucket")));
}

TEST(OpenObjectStore, UnknownSchemeNamesSupportedOnes) {
  EXPECT_THAT(OpenObjectStore("ftp://host/dir"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("file:///")));
  EXPECT_THAT(OpenObjectStore("/var/lib/walship"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("s3://")));
}

}  // namespace
}  // namespace walship::sinks
