// Tests for LocalDirStore: write-once objects in a local directory.
#include "sinks/object_store/local_dir_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

void WriteLocalFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> keys;
  for (const ObjectInfo& object : objects) keys.push_back(object.key);
  return keys;
}

class LocalDirStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Sub("store");
    ASSERT_OK_AND_ASSIGN(store_, LocalDirStore::OpenDir(root_));
  }
  ::walship::testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<LocalDirStore> store_;
};

TEST_F(LocalDirStoreTest, PutGetListDelete) {
  ASSERT_OK(store_->Put("1/s/wal/b.seg", "bbb"));
  ASSERT_OK(store_->Put("1/s/wal/a.seg", "a"));
  ASSERT_OK(store_->Put("1/s/index/a.idx", ""));
  ASSERT_OK(store_->Put("1/t/wal/c.seg", "cc"));

  ASSERT_OK_AND_ASSIGN(std::string data, store_->Get("1/s/wal/b.seg"));
  EXPECT_EQ(data, "bbb");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> all, store_->List(""));
  EXPECT_THAT(Keys(all),
              ElementsAre("1/s/index/a.idx", "1/s/wal/a.seg", "1/s/wal/b.seg", "1/t/wal/c.seg"));
  EXPECT_EQ(all[2].size, 3u);
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> wal, store_->List("1/s/wal/"));
  EXPECT_THAT(Keys(wal), ElementsAre("1/s/wal/a.seg", "1/s/wal/b.seg"));
  // A prefix may end inside a name.
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> partial, store_->List("1/s/wal/b"));
  EXPECT_THAT(Keys(partial), ElementsAre("1/s/wal/b.seg"));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> none, store_->List("2/"));
  EXPECT_TRUE(none.empty());

  ASSERT_OK(store_->Delete("1/s/wal/a.seg"));
  ASSERT_OK(store_->Delete("1/s/wal/a.seg"));  // missing is fine
  EXPECT_THAT(store_->Get("1/s/wal/a.seg"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("1/s/wal/a.seg")));
  ASSERT_OK_AND_ASSIGN(wal, store_->List("1/s/wal/"));
  EXPECT_THAT(Keys(wal), ElementsAre("1/s/wal/b.seg"));
}

TEST_F(LocalDirStoreTest, OpenGivesSourceNamedByKey) {
  ASSERT_OK(store_->Put("x/obj", "hello world"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source, store_->Open("x/obj"));
  EXPECT_EQ(source->name(), "x/obj");
  EXPECT_EQ(source->size(), 11u);
  std::string out;
  ASSERT_OK(source->ReadAt(6, 5, &out));
  EXPECT_EQ(out, "world");
  EXPECT_THAT(store_->Open("x/missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(LocalDirStoreTest, ObjectsAreWrittenOnce) {
  ASSERT_OK(store_->Put("k/one", "first"));
  EXPECT_THAT(store_->Put("k/one", "second"),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("object \"k/one\" already exists in file://" + root_)));
  std::string file = dir_.Sub("upload");
  WriteLocalFile(file, "third");
  EXPECT_THAT(store_->PutFile("k/one", file), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_TRUE(std::filesystem::exists(file));  // a failed PutFile leaves the file
  ASSERT_OK_AND_ASSIGN(std::string data, store_->Get("k/one"));
  EXPECT_EQ(data, "first");
  // Nothing is left behind in the temporary area.
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/.tmp"));
}

TEST_F(LocalDirStoreTest, RejectsInvalidKeys) {
  for (const std::string key :
       {"", "/abs", "a//b", "a/", "../up", "a/../../b", "a b", "./a", ".tmp/x", ".tmp"}) {
    EXPECT_THAT(store_->Put(key, "x"), StatusIs(absl::StatusCode::kInvalidArgument))
        << "key: " << key;
    EXPECT_THAT(store_->Get(key), StatusIs(absl::StatusCode::kInvalidArgument)) << key;
    EXPECT_THAT(store_->Delete(key), StatusIs(absl::StatusCode::kInvalidArgument)) << key;
  }
  EXPECT_THAT(store_->List("../"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("up")));
}

TEST_F(LocalDirStoreTest, PutFileMovesTheFile) {
  std::string file = dir_.Sub("segment.staging");
  WriteLocalFile(file, std::string(100000, 'z'));
  ASSERT_OK(store_->PutFile("a/b/c.seg", file));
  EXPECT_FALSE(std::filesystem::exists(file));
  ASSERT_OK_AND_ASSIGN(std::string data, store_->Get("a/b/c.seg"));
  EXPECT_EQ(data, std::string(100000, 'z'));
  EXPECT_THAT(store_->PutFile("a/b/d.seg", dir_.Sub("missing")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(LocalDirStoreTest, ListSkipsTemporaryAndNonRegularFiles) {
  ASSERT_OK(store_->Put("d/real", "x"));
  WriteLocalFile(root_ + "/.tmp/123-0", "partial");
  ASSERT_EQ(::symlink((root_ + "/d/real").c_str(), (root_ + "/d/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((root_ + "/d/fifo").c_str(), 0600), 0);
  WriteLocalFile(root_ + "/d/bad name", "x");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> all, store_->List(""));
  EXPECT_THAT(Keys(all), ElementsAre("d/real"));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> tmp, store_->List(".tmp/"));
  EXPECT_TRUE(tmp.empty());
}

// Sets a file's modification time `age` into the past.
void Age(const std::string& path, int seconds) {
  struct timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

TEST_F(LocalDirStoreTest, OpenRemovesTemporaryLeftoversFromACrash) {
  ASSERT_OK(store_->Put("keep", "x"));
  WriteLocalFile(root_ + "/.tmp/999-1", "half written");
  WriteLocalFile(root_ + "/.tmp/999-2", "");
  Age(root_ + "/.tmp/999-1", 2 * 3600);
  Age(root_ + "/.tmp/999-2", 2 * 3600);
  store_.reset();
  ASSERT_OK_AND_ASSIGN(store_, LocalDirStore::OpenDir(root_));
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/.tmp"));
  ASSERT_OK_AND_ASSIGN(std::string data, store_->Get("keep"));
  EXPECT_EQ(data, "x");
}

// Another process opening the same directory (walship-replay list while the agent
// writes) must not take the temporary file the writer is filling.
TEST_F(LocalDirStoreTest, OpeningTheStoreAgainLeavesAWriterInFlightAlone) {
  WriteLocalFile(root_ + "/.tmp/4242-7", "being written");
  WriteLocalFile(root_ + "/.tmp/4242-8", "crashed long ago");
  Age(root_ + "/.tmp/4242-8", 2 * 3600);
  ASSERT_OK_AND_ASSIGN(auto reader, LocalDirStore::OpenDir(root_));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/.tmp/4242-7"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/.tmp/4242-8"));
  // And a writer's Put goes through while readers open the store over and over.
  std::atomic<bool> done{false};
  std::thread opener([&] {
    while (!done.load()) {
      auto again = LocalDirStore::OpenDir(root_);
      EXPECT_TRUE(again.ok()) << again.status();
    }
  });
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(store_->Put(absl::StrCat("wal/", i), std::string(64 << 10, 'w')));
  }
  done.store(true);
  opener.join();
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> stored, store_->List("wal/"));
  EXPECT_EQ(stored.size(), 200u);
}

TEST_F(LocalDirStoreTest, RefusesRelativeDirectory) {
  EXPECT_THAT(LocalDirStore::OpenDir("relative/dir"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(LocalDirStoreTest, UnwritableDirectoryIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  ASSERT_EQ(::chmod(root_.c_str(), 0500), 0);
  EXPECT_THAT(store_->Put("new/key", "x"), StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_EQ(::chmod(root_.c_str(), 0700), 0);
}

}  // namespace
}  // namespace walship::sinks
