// Encryption at rest end to end through the shipped binaries: walship-agent with
// --encryption-key-file and compression off streams to a local directory and to
// tests/tools/fake_s3 at once; neither holds a row value in the clear. walship-replay with
// the key (file, rotated ring or environment variable) restores the source exactly from
// either store; with a wrong key, a key id not in the ring, no key at all, a tampered
// object, or an object copied under another key name it fails clearly, naming the object
// and the key id, and applies no rows.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/object_store.h"
#include "sinks/object_store/open_object_store.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/encryption_keys.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCanary[] = "PLAINTEXT-CANARY-7f3a";
constexpr char kAccessKey[] = "FAKEACCESSKEY";
constexpr char kSecret[] = "encryption-test-secret";

std::string WriteKeyFile(const std::string& dir, const std::string& name,
                         const std::string& text) {
  std::string path = dir + "/" + name;
  { std::ofstream(path, std::ios::binary) << text; }
  ::chmod(path.c_str(), 0600);
  return path;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Files under `dir` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() &&
        FileBytes(entry.path().string()).find(needle) != std::string::npos) {
      hits.push_back(entry.path().string());
    }
  }
  return hits;
}

// Relative paths of the files under `dir` whose path contains `part`, sorted.
std::vector<std::string> Keys(const std::string& dir, const std::string& part) {
  std::vector<std::string> keys;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    std::string key = std::filesystem::relative(entry.path(), dir).string();
    if (entry.is_regular_file() && absl::StrContains(key, part)) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

class AgentEncryptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("AWS_ACCESS_KEY_ID", kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", kSecret, 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    for (const char* name : {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3",
                             "WALSHIP_ENCRYPTION_KEY"}) {
      ::unsetenv(name);
    }
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", CrmSchemaSql()).status());
    store_ = MakeTempDir("enc_store");
    work_ = MakeTempDir("enc_work");
    key_file_ = WriteKeyFile(work_, "keys", ::walship::testing::KeyLine("k2024", 1) + "\n");

    { std::ofstream(work_ + "/fake_secret") << kSecret; }
    SubprocessOptions options;
    options.stderr_mode = StreamMode::kInherit;
    ASSERT_OK_AND_ASSIGN(fake_, Subprocess::Start({"/usr/bin/python3", WALSHIP_FAKE_S3_PATH,
                                                   "--bucket", "walship", "--access-key",
                                                   kAccessKey, "--secret-key-file",
                                                   work_ + "/fake_secret"},
                                                  options));
    ASSERT_OK_AND_ASSIGN(std::string line, fake_->ReadLine(absl::Seconds(30)));
    absl::string_view port = line;
    ASSERT_TRUE(absl::ConsumePrefix(&port, "LISTENING ")) << line;
    s3_url_ = absl::StrCat("s3://walship/enc?endpoint=http://127.0.0.1:", port,
                           "&region=us-east-1");
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(store_);
      std::filesystem::remove_all(work_);
    }
  }

  // Runs walship-replay restore from `url` into a new, empty database `db`.
  SubprocessResult Restore(const std::string& url, const std::string& db,
                           const std::vector<std::string>& extra,
                           std::map<std::string, std::string> env = {}) {
    EXPECT_OK(pg_->CreateDatabase(db));
    std::vector<std::string> argv = {ReplayPath(), "restore", "--object-store", url, "--target",
                                     pg_->ConnInfo(db)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    SubprocessOptions options;
    options.env = std::move(env);
    absl::StatusOr<SubprocessResult> result = Subprocess::Run(argv, absl::Seconds(300), options);
    EXPECT_OK(result.status());
    return result.ok() ? *result : SubprocessResult{};
  }

  // The number of rows in all of `db`'s tables (0 also when no table was created).
  size_t RowsIn(const std::string& db) {
    absl::StatusOr<TableRows> tables = CaptureTables(*pg_, db);
    EXPECT_OK(tables.status());
    size_t rows = 0;
    if (tables.ok()) {
      for (const auto& [name, table_rows] : *tables) rows += table_rows.size();
    }
    return rows;
  }

  // Streams canary rows (in the base and in the change stream) and the CRM workload through
  // an agent writing to the local directory and the bucket, encrypted; `source` is the
  // database as it was at the stop.
  void StreamEncrypted(TableRows* source) {
    // Canary rows in the base snapshot and in the change stream.
    ASSERT_OK(pg_->Psql("crm", absl::StrCat("INSERT INTO customers (name, notes) SELECT '",
                                            kCanary, "-base-' || g, 'note ", kCanary,
                                            "' FROM generate_series(1, 200) g"))
                  .status());
    std::string log = work_ + "/agent.log";
    ASSERT_OK_AND_ASSIGN(
        auto agent,
        StartAgent({"--source", pg_->ConnInfo("crm"), "--create", "--object-store",
                    "file://" + store_, "--object-store", s3_url_, "--work-dir",
                    work_ + "/agent", "--segment-max-ms", "50", "--compression-level", "0",
                    "--encryption-key-file", key_file_},
                   log));
    ASSERT_THAT(WaitForBase(store_, absl::Seconds(60)), IsOk()) << ReadFile(log);
    ASSERT_OK(pg_->Psql("crm", absl::StrCat("INSERT INTO customers (name, notes) SELECT '",
                                            kCanary, "-wal-' || g, 'note ", kCanary,
                                            "' FROM generate_series(1, 300) g"))
                  .status());
    for (const WorkloadStep& step : CrmWorkload()) {
      ASSERT_THAT(pg_->Psql("crm", step.sql).status(), IsOk()) << step.name;
    }
    ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
    ASSERT_OK_AND_ASSIGN(*source, CaptureTables(*pg_, "crm"));
    ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(60)), IsOk()) << ReadFile(log);
    agent->Kill(SIGTERM);
    ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
    EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);
    EXPECT_THAT(ReadFile(log), Not(HasSubstr(::walship::testing::KeyBase64(1))));
  }

  // Neither store holds plaintext: segments and manifests are ciphertext.
  void ExpectOnlyCiphertextStored() {
    ASSERT_FALSE(StoredSegments(store_).empty());
    ASSERT_FALSE(Keys(store_, "manifest.pb").empty());
    EXPECT_THAT(FilesContaining(store_, kCanary), ::testing::IsEmpty());
    EXPECT_THAT(FilesContaining(store_, "CREATE TABLE"), ::testing::IsEmpty());
    EXPECT_THAT(FilesContaining(store_, "example.com"), ::testing::IsEmpty());
    // ...nor in the bucket (raw bytes, read without the decorator).
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<sinks::ObjectStore> raw, sinks::OpenObjectStore(s3_url_));
    ASSERT_OK_AND_ASSIGN(std::vector<sinks::ObjectInfo> objects, raw->List(""));
    int s3_segments = 0;
    for (const sinks::ObjectInfo& object : objects) {
      ASSERT_OK_AND_ASSIGN(std::string bytes, raw->Get(object.key));
      EXPECT_EQ(bytes.find(kCanary), std::string::npos) << object.key;
      EXPECT_EQ(bytes.find("example.com"), std::string::npos) << object.key;
      if (absl::EndsWith(object.key, ".seg")) {
        ++s3_segments;
        EXPECT_TRUE(absl::StartsWith(bytes, "WSHPENC")) << object.key;
      }
    }
    EXPECT_GT(s3_segments, 0);
  }

  // The right key restores the source exactly, from either store; a rotated ring
  // [new, old] and the environment variable read the old objects too.
  void ExpectTheRightKeyRestores(const TableRows& source) {
    SubprocessResult ok = Restore("file://" + store_, "with_key", {"--encryption-key-file", key_file_});
    ASSERT_EQ(ok.exit_code, 0) << ok.stderr_text;
    ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "with_key"));
    EXPECT_EQ(FirstDifference(source, restored), "");
    ASSERT_OK_AND_ASSIGN(std::string canaries,
                         pg_->Query("with_key", absl::StrCat("SELECT count(*) FROM customers "
                                                             "WHERE name LIKE '",
                                                             kCanary, "%'")));
    ASSERT_OK_AND_ASSIGN(std::string source_canaries,
                         pg_->Query("crm", absl::StrCat("SELECT count(*) FROM customers WHERE "
                                                        "name LIKE '",
                                                        kCanary, "%'")));
    EXPECT_EQ(canaries, source_canaries);  // the canary really went through the pipeline
    EXPECT_NE(canaries, "0");
    std::string rotated = WriteKeyFile(work_, "rotated",
                                       ::walship::testing::KeyLine("k2025", 2) + "\n" +
                                           ::walship::testing::KeyLine("k2024", 1) + "\n");
    ok = Restore(s3_url_, "rotated_from_s3", {"--encryption-key-file", rotated});
    ASSERT_EQ(ok.exit_code, 0) << ok.stderr_text;
    ASSERT_OK_AND_ASSIGN(restored, CaptureTables(*pg_, "rotated_from_s3"));
    EXPECT_EQ(FirstDifference(source, restored), "");
    ok = Restore("file://" + store_, "from_env", {},
                 {{"WALSHIP_ENCRYPTION_KEY", ::walship::testing::KeyLine("k2024", 1)}});
    ASSERT_EQ(ok.exit_code, 0) << ok.stderr_text;
    ASSERT_OK_AND_ASSIGN(restored, CaptureTables(*pg_, "from_env"));
    EXPECT_EQ(FirstDifference(source, restored), "");
  }

  // A wrong or missing key, or a damaged store, is refused with a clear error before any
  // row of the tables it concerns is written.
  void ExpectWrongKeysAndDamageRefused() {
    // Copies of the store with one object damaged: the manifest or the first change segment
    // tampered (one ciphertext byte of the first chunk flipped), or the first segment
    // overwritten by the second one's bytes (an object copied under another key name).
    std::vector<std::string> segments = Keys(store_, "/wal/");
    ASSERT_GE(segments.size(), 2u);
    const std::string victim = segments[0];
    const std::string manifest = Keys(store_, "manifest.pb")[0];
    std::string tampered = work_ + "/tampered";
    std::string tampered_manifest = work_ + "/tampered_manifest";
    std::string copied = work_ + "/copied";
    for (const std::string& dir : {tampered, tampered_manifest, copied}) {
      std::filesystem::copy(store_, dir, std::filesystem::copy_options::recursive);
      for (const std::string& key : {victim, manifest}) {
        std::filesystem::permissions(dir + "/" + key, std::filesystem::perms::owner_write,
                                     std::filesystem::perm_options::add);
      }
    }
    for (const auto& [dir, key] :
         {std::pair{tampered, victim}, std::pair{tampered_manifest, manifest}}) {
      std::string bytes = FileBytes(store_ + "/" + key);
      ASSERT_GT(bytes.size(), 120u);
      bytes[100] ^= 0x01;
      WriteBytes(dir + "/" + key, bytes);
    }
    WriteBytes(copied + "/" + victim, FileBytes(store_ + "/" + segments[1]));
    // A restore onto an empty server reads the change window (folding it into the load)
    // before it loads the tables the window changes, so a damaged change segment stops it
    // before any of their rows is written; a damaged manifest stops it before any row.

    struct Case {
      std::string db;
      std::string url;
      std::vector<std::string> args;
      std::vector<std::string> messages;  // each must be in stderr
      size_t rows_applied = 0;
    };
    std::string other = WriteKeyFile(work_, "other", ::walship::testing::KeyLine("k2025", 2));
    std::string wrong = WriteKeyFile(work_, "wrong", ::walship::testing::KeyLine("k2024", 3));
    for (const Case& c : std::vector<Case>{
             {"missing_key_id",
              "file://" + store_,
              {"--encryption-key-file", other},
              {"not in the key ring", "\"k2024\"", "object \""}},
             {"wrong_key_bytes",
              "file://" + store_,
              {"--encryption-key-file", wrong},
              {"failed authentication", "\"k2024\"", "object \""}},
             {"wrong_key_from_s3",
              s3_url_,
              {"--encryption-key-file", wrong},
              {"failed authentication", "\"k2024\"", "object \""}},
             {"no_key",
              "file://" + store_,
              {},
              {"is encrypted with key", "\"k2024\"", "--encryption-key-file"}},
             {"tampered_manifest",
              "file://" + tampered_manifest,
              {"--encryption-key-file", key_file_},
              {"failed authentication", "\"k2024\"", manifest}},
             {"tampered_segment",
              "file://" + tampered,
              {"--encryption-key-file", key_file_},
              {"failed authentication", "\"k2024\"", victim}},
             {"copied_under_another_name",
              "file://" + copied,
              {"--encryption-key-file", key_file_},
              {"failed authentication", "\"k2024\"", victim}},
         }) {
      SCOPED_TRACE(c.db);
      SubprocessResult failed = Restore(c.url, c.db, c.args);
      EXPECT_NE(failed.exit_code, 0);
      for (const std::string& message : c.messages) {
        EXPECT_THAT(failed.stderr_text, HasSubstr(message));
      }
      EXPECT_THAT(failed.stderr_text, Not(HasSubstr(kCanary)));
      EXPECT_EQ(RowsIn(c.db), c.rows_applied) << "rows were applied before the failure";
    }
  }

  std::unique_ptr<PgCluster> pg_;
  std::unique_ptr<Subprocess> fake_;
  std::string store_, work_, key_file_, s3_url_;
};

TEST_F(AgentEncryptionTest, StoresOnlyCiphertextAndOnlyTheRightKeyRestores) {
  TableRows source;
  ASSERT_NO_FATAL_FAILURE(StreamEncrypted(&source));
  ASSERT_NO_FATAL_FAILURE(ExpectOnlyCiphertextStored());
  ASSERT_NO_FATAL_FAILURE(ExpectTheRightKeyRestores(source));
  ExpectWrongKeysAndDamageRefused();
}

}  // namespace
}  // namespace walship::testing

namespace walship::testing {
namespace {

// A key given in WALSHIP_ENCRYPTION_KEY is read once and wiped: the running agent's
// /proc/PID/environ no longer holds it (nor do pg_dump children, whose environment is
// reduced to the PostgreSQL variables), yet every object is encrypted with it.
TEST_F(AgentEncryptionTest, KeyFromTheEnvironmentIsWipedOnceRead) {
  const std::string key = ::walship::testing::KeyLine("kenv", 3);
  const std::string secret = key.substr(key.find(':') + 1);
  std::string log = work_ + "/agent-env.log";
  ASSERT_OK_AND_ASSIGN(auto agent,
                       StartAgent({"--source", pg_->ConnInfo("crm"), "--create",
                                   "--object-store", "file://" + store_, "--work-dir",
                                   work_ + "/agent", "--segment-max-ms", "50"},
                                  log, {{"WALSHIP_ENCRYPTION_KEY", key}}));
  ASSERT_THAT(WaitForBase(store_, absl::Seconds(60)), IsOk()) << ReadFile(log);
  std::string environ_text = ReadFile(absl::StrCat("/proc/", agent->pid(), "/environ"));
  EXPECT_THAT(environ_text, HasSubstr("WALSHIP_ENCRYPTION_KEY="));  // the name, wiped value
  EXPECT_THAT(environ_text, Not(HasSubstr(secret)));
  agent->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent->Wait(absl::Seconds(60)));
  ASSERT_EQ(stopped.exit_code, 0) << ReadFile(log);
  // The key was used: a restore needs it.
  ASSERT_OK_AND_ASSIGN(TableRows source, CaptureTables(*pg_, "crm"));
  SubprocessResult without = Restore("file://" + store_, "without_key", {});
  EXPECT_NE(without.exit_code, 0);
  SubprocessResult with = Restore("file://" + store_, "with_key", {},
                                  {{"WALSHIP_ENCRYPTION_KEY", key}});
  ASSERT_EQ(with.exit_code, 0) << with.stderr_text;
  ASSERT_OK_AND_ASSIGN(TableRows restored, CaptureTables(*pg_, "with_key"));
  EXPECT_EQ(FirstDifference(source, restored), "");
}

}  // namespace
}  // namespace walship::testing
