// The S3 store against tests/tools/fake_s3, started here: every SigV4 signature checked with
// botocore, If-None-Match honoured (write-once), and injected faults retried or reported.
// Against s3rver and the aws CLI: s3_store_s3rver_test.cc.
#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/s3/http_client.h"
#include "sinks/object_store/s3/s3_store.h"
#include "tests/integration/s3_store_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::sinks::s3 {
namespace {

using ::testing::HasSubstr;
using ::walship::testing::StatusIs;
using ::walship::testing::StreamMode;
using ::walship::testing::Subprocess;
using ::walship::testing::SubprocessOptions;

constexpr char kAccessKey[] = "FAKEACCESSKEY";
constexpr char kSecret[] = "the-right-secret/+=";

// ---- the fake ------------------------------------------------------------------------

class FakeS3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("fake");
    WriteFile(dir_ + "/secret", kSecret);
    SubprocessOptions options;
    options.stderr_mode = StreamMode::kInherit;
    ASSERT_OK_AND_ASSIGN(fake_, Subprocess::Start({"/usr/bin/python3", WALSHIP_FAKE_S3_PATH,
                                                   "--bucket", "testbucket", "--access-key",
                                                   kAccessKey, "--secret-key-file",
                                                   dir_ + "/secret"},
                                                  options));
    ASSERT_OK_AND_ASSIGN(std::string line, fake_->ReadLine(absl::Seconds(30)));
    absl::string_view port = line;
    ASSERT_TRUE(absl::ConsumePrefix(&port, "LISTENING ")) << line;
    endpoint_ = absl::StrCat("http://127.0.0.1:", port);
    control_ = NewCurlHttpClient(true);
  }

  absl::StatusOr<std::unique_ptr<ObjectStore>> Open(const std::string& secret,
                                                    S3Options options = FastOptions(),
                                                    const std::string& bucket = "testbucket") {
    return OpenS3Store(absl::StrCat("s3://", bucket, "/walship/test?endpoint=", endpoint_),
                       options, CredentialsEnv(kAccessKey, secret));
  }

  void Control(const std::string& path_and_query) {
    HttpRequest request;
    request.method = "POST";
    request.url = endpoint_ + path_and_query;
    absl::StatusOr<HttpResponse> response = control_->Execute(request);
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->status, 204) << path_and_query;
  }

  // A counter from GET /_stats (0 when absent).
  int Stat(const std::string& name) {
    HttpRequest request;
    request.method = "GET";
    request.url = endpoint_ + "/_stats";
    absl::StatusOr<HttpResponse> response = control_->Execute(request);
    if (!response.ok()) return -1;
    std::string needle = absl::StrCat("\"", name, "\": ");
    size_t at = response->body.find(needle);
    if (at == std::string::npos) return 0;
    int value = 0;
    absl::string_view rest = absl::string_view(response->body).substr(at + needle.size());
    rest = rest.substr(0, rest.find_first_of(",}"));
    return absl::SimpleAtoi(rest, &value) ? value : -1;
  }

  std::string dir_;
  std::string endpoint_;
  std::unique_ptr<Subprocess> fake_;
  std::unique_ptr<HttpClient> control_;
};

TEST_F(FakeS3Test, EveryRequestTypeIsAcceptedWithTheRightSecret) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret));
  EXPECT_EQ(store->url(), absl::StrCat("s3://testbucket/walship/test?endpoint=", endpoint_,
                                       "&region=us-east-1&addressing=path"));
  EXPECT_THAT(store->url(), ::testing::Not(HasSubstr(kSecret)));
  // PUT, then five keys so that a page size of 2 needs three ListObjectsV2 pages.
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(store->Put(absl::StrCat("42/slot/wal/", i, ".seg"), absl::StrCat("data", i)));
  }
  ASSERT_OK(store->Put("42/slot/index/1.idx", "index"));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store->List("42/slot/wal/"));
  ASSERT_EQ(listed.size(), 5u);
  EXPECT_EQ(listed[0].key, "42/slot/wal/0.seg");
  EXPECT_EQ(listed[4].key, "42/slot/wal/4.seg");
  EXPECT_EQ(listed[4].size, 5u);
  EXPECT_GE(Stat("ok_list"), 3);
  ASSERT_OK_AND_ASSIGN(listed, store->List(""));
  EXPECT_EQ(listed.size(), 6u);

  ASSERT_OK_AND_ASSIGN(std::string data, store->Get("42/slot/wal/3.seg"));
  EXPECT_EQ(data, "data3");
  EXPECT_THAT(store->Get("42/slot/wal/9.seg"), StatusIs(absl::StatusCode::kNotFound));

  // PutFile of a small file (one PUT) and of a 40 MiB file (multipart: 5 parts of 8 MiB).
  std::string small = WriteFile(dir_ + "/small", "small file");
  ASSERT_OK(store->PutFile("42/slot/base/small.seg", small));
  EXPECT_FALSE(std::filesystem::exists(small));
  std::string big_data = RandomBytes(40 << 20, 1);
  std::string big = WriteFile(dir_ + "/big", big_data);
  ASSERT_OK(store->PutFile("42/slot/base/big.seg", big));
  EXPECT_FALSE(std::filesystem::exists(big));
  EXPECT_EQ(Stat("ok_create"), 1);
  EXPECT_EQ(Stat("ok_part"), 5);
  EXPECT_EQ(Stat("ok_complete"), 1);
  ASSERT_OK_AND_ASSIGN(data, store->Get("42/slot/base/big.seg"));
  EXPECT_TRUE(data == big_data);

  // Ranged reads through Open(): HEAD, then GETs with Range.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source,
                       store->Open("42/slot/base/big.seg"));
  EXPECT_EQ(source->size(), big_data.size());
  std::string part;
  ASSERT_OK(source->ReadAt(12345, 100, &part));
  EXPECT_EQ(part, big_data.substr(12345, 100));
  ASSERT_OK(source->ReadAt(12445, 100, &part));  // from the read-ahead window
  EXPECT_EQ(part, big_data.substr(12445, 100));
  ASSERT_OK(source->ReadAt(big_data.size() - 10, 10, &part));
  EXPECT_EQ(part, big_data.substr(big_data.size() - 10));
  EXPECT_THAT(source->ReadAt(big_data.size() - 10, 11, &part),
              StatusIs(absl::StatusCode::kOutOfRange));
  // Three Gets above (one of a missing key) and two ranged reads: the second read came
  // from the read-ahead window.
  EXPECT_EQ(Stat("ok_get"), 5);
  EXPECT_THAT(store->Open("42/nothing"), StatusIs(absl::StatusCode::kNotFound));

  ASSERT_OK(store->Delete("42/slot/wal/0.seg"));
  ASSERT_OK(store->Delete("42/slot/wal/0.seg"));  // deleting a missing key is fine
  ASSERT_OK_AND_ASSIGN(listed, store->List("42/slot/wal/"));
  EXPECT_EQ(listed.size(), 4u);
  EXPECT_EQ(Stat("auth_failures"), 0);
  EXPECT_EQ(Stat("faults"), 0);
}

TEST_F(FakeS3Test, EveryRequestTypeIsRejectedWithAWrongSecret) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> good, Open(kSecret));
  ASSERT_OK(good->Put("k/existing", "x"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open("a-wrong-secret"));
  auto denied = StatusIs(absl::StatusCode::kPermissionDenied,
                         ::testing::AllOf(HasSubstr("testbucket"),
                                          HasSubstr("check AWS_ACCESS_KEY_ID"),
                                          HasSubstr("SignatureDoesNotMatch")));
  EXPECT_THAT(store->Put("k/new", "x"), denied);
  EXPECT_THAT(store->Get("k/existing"), denied);
  EXPECT_THAT(store->List("k/"), denied);
  EXPECT_THAT(store->Delete("k/existing"), denied);
  // HEAD answers carry no body: still permission denied.
  EXPECT_THAT(store->Open("k/existing"), StatusIs(absl::StatusCode::kPermissionDenied));
  std::string big = WriteFile(dir_ + "/big", RandomBytes(17 << 20, 2));
  EXPECT_THAT(store->PutFile("k/big", big), denied);  // CreateMultipartUpload refused
  EXPECT_TRUE(std::filesystem::exists(big));
  EXPECT_EQ(Stat("auth_failures"), 6);
  // The wrong secret changed nothing.
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, good->List("k/"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, "k/existing");
}

// The multipart request types a wrong secret never reaches (CreateMultipartUpload fails
// first): the fake checks them against a secret we do not have.
TEST_F(FakeS3Test, WrongSecretOnPartsCompleteAndAbort) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret));
  std::string big = WriteFile(dir_ + "/big", RandomBytes(20 << 20, 3));
  Control("/_expect_other_secret?ops=complete");
  EXPECT_THAT(store->PutFile("k/big", big),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("SignatureDoesNotMatch")));
  EXPECT_EQ(Stat("ok_part"), 3);
  EXPECT_EQ(Stat("ok_abort"), 1);  // the abort, signed right, went through
  EXPECT_EQ(Stat("auth_failures"), 1);

  Control("/_reset");
  Control("/_expect_other_secret?ops=part,abort");
  EXPECT_THAT(store->PutFile("k/big", big),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("part 1")));
  EXPECT_EQ(Stat("ok_create"), 1);
  EXPECT_EQ(Stat("ok_part"), 0);
  EXPECT_EQ(Stat("ok_abort"), 0);
  EXPECT_EQ(Stat("auth_failures"), 2);  // the part and the abort
  EXPECT_TRUE(std::filesystem::exists(big));
}

TEST_F(FakeS3Test, WriteOnce) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret));
  ASSERT_OK(store->Put("a/b.seg", "first"));
  EXPECT_THAT(store->Put("a/b.seg", "second"),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       ::testing::AllOf(HasSubstr("a/b.seg"), HasSubstr("written once"))));
  std::string small = WriteFile(dir_ + "/small", "third");
  EXPECT_THAT(store->PutFile("a/b.seg", small), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_TRUE(std::filesystem::exists(small));  // a failed PutFile leaves the file
  // Multipart: CompleteMultipartUpload with If-None-Match fails; the upload is aborted.
  std::string big = WriteFile(dir_ + "/big", RandomBytes(17 << 20, 4));
  EXPECT_THAT(store->PutFile("a/b.seg", big), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Stat("ok_abort"), 1);
  EXPECT_EQ(Stat("uploads_in_progress"), 0);
  ASSERT_OK_AND_ASSIGN(std::string data, store->Get("a/b.seg"));
  EXPECT_EQ(data, "first");
  EXPECT_EQ(Stat("error_PreconditionFailed"), 3);
  // The same bytes again (what a resent request looks like) are not a conflict.
  EXPECT_OK(store->Put("a/b.seg", "first"));
  // Invalid keys never reach the bucket.
  EXPECT_THAT(store->Put("../x", "y"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// A write whose answer was lost is resent and meets 412 against its own first copy. With
// SSE-KMS the ETag is not an MD5 of the content (the fake's opaque ETags), so the stored
// object is compared by content: the same bytes are a success, other bytes (even of the
// same size) a conflict. Both for a single PUT and for a multipart upload.
TEST_F(FakeS3Test, ALostAnswerIsResolvedByContentNotByETag) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret));
  Control("/_etags?mode=opaque");
  Control("/_fault?mode=drop_after&count=1&op=put");
  ASSERT_OK(store->Put("k/small.json", "{\"n\": 1}"));
  EXPECT_EQ(Stat("error_PreconditionFailed"), 1);  // the resend met its own first copy
  EXPECT_THAT(store->Put("k/small.json", "{\"n\": 2}"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // Larger than the compared tail: size and tail decide.
  std::string body = RandomBytes(200 << 10, 7);
  Control("/_fault?mode=drop_after&count=1&op=put");
  ASSERT_OK(store->Put("k/mid.seg", body));
  std::string other = body;
  other[other.size() - 1] ^= 1;
  EXPECT_THAT(store->Put("k/mid.seg", other), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store->Put("k/mid.seg", body.substr(1)), StatusIs(absl::StatusCode::kAlreadyExists));

  // Multipart: the completion is carried out, its answer lost; the resend finds the upload
  // gone (404) or the object there (412), and the content decides.
  std::string big_bytes = RandomBytes(17 << 20, 8);
  std::string big = WriteFile(dir_ + "/big", big_bytes);
  Control("/_fault?mode=drop_after&count=1&op=complete");
  ASSERT_OK(store->PutFile("k/big.seg", big));
  ASSERT_OK_AND_ASSIGN(std::string stored, store->Get("k/big.seg"));
  EXPECT_TRUE(stored == big_bytes);
  std::string changed_bytes = big_bytes;
  changed_bytes[changed_bytes.size() - 100] ^= 1;
  std::string changed = WriteFile(dir_ + "/changed", changed_bytes);
  EXPECT_THAT(store->PutFile("k/big.seg", changed), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Stat("uploads_in_progress"), 0);
}

// Every answer is bounded by what its request can return: a PUT's acknowledgement announced
// as 1 TiB is refused before its body is read, a listing that never ends is cut at its bound,
// and both requests succeed on their retry. Memory stays far below what was offered.
TEST_F(FakeS3Test, AnswersLongerThanTheRequestCanReturnAreCut) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret));
  struct rusage before_usage;
  ::getrusage(RUSAGE_SELF, &before_usage);
  Control("/_fault?mode=huge&count=1&op=put");
  ASSERT_OK(store->Put("b/1.json", "one"));
  Control("/_fault?mode=endless&count=1&op=list");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store->List("b/"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, "b/1.json");
  Control("/_fault?mode=huge&count=1&op=get");
  ASSERT_OK_AND_ASSIGN(std::string data, store->Get("b/1.json"));
  EXPECT_EQ(data, "one");
  EXPECT_EQ(Stat("floods"), 3);
  struct rusage after_usage;
  ::getrusage(RUSAGE_SELF, &after_usage);
  // ru_maxrss is in KiB: the endless listing may fill its 64 MiB bound, no more. (Under
  // AddressSanitizer freed buffers stay resident in its quarantine: not meaningful there.)
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(after_usage.ru_maxrss - before_usage.ru_maxrss, 192 * 1024);
#endif
}

TEST_F(FakeS3Test, RetriesThroughInjectedFaultsLoseNothing) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret));
  Control("/_fault?mode=500&count=2&op=put");
  Control("/_fault?mode=503&count=2&op=put");
  Control("/_fault?mode=drop&count=1&op=put");
  Control("/_fault?mode=drop_mid&count=1&op=put");
  ASSERT_OK(store->Put("r/1", "one"));  // attempt 7 of 8 goes through
  EXPECT_EQ(Stat("faults"), 6);
  EXPECT_EQ(Stat("error_SlowDown"), 2);

  // The first attempt is stored but its answer is lost: the retry meets 412, sees our own
  // bytes (same ETag) and reports success rather than a false "already exists".
  Control("/_fault?mode=drop_after&count=1&op=put");
  ASSERT_OK(store->Put("r/2", "two"));
  EXPECT_EQ(Stat("error_PreconditionFailed"), 1);

  // Faults on every multipart step, and in reads and listings.
  Control("/_fault?mode=503&count=1&op=create");
  Control("/_fault?mode=drop_mid&count=1&op=part&after=1");
  Control("/_fault?mode=500&count=2&op=part&after=2");
  Control("/_fault?mode=drop_after&count=1&op=complete");
  std::string big_data = RandomBytes(40 << 20, 5);
  std::string big = WriteFile(dir_ + "/big", big_data);
  ASSERT_OK(store->PutFile("r/big", big));
  Control("/_fault?mode=500&count=2&op=get");
  Control("/_fault?mode=drop&count=1&op=list");
  Control("/_fault?mode=503&count=1&op=head");
  ASSERT_OK_AND_ASSIGN(std::string data, store->Get("r/big"));
  EXPECT_TRUE(data == big_data);
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store->List("r/"));
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].key, "r/1");
  EXPECT_EQ(listed[1].key, "r/2");
  EXPECT_EQ(listed[2].key, "r/big");
  EXPECT_EQ(listed[2].size, big_data.size());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source, store->Open("r/1"));
  std::string got;
  ASSERT_OK(source->ReadAt(0, 3, &got));
  EXPECT_EQ(got, "one");
  EXPECT_EQ(Stat("uploads_in_progress"), 0);
  EXPECT_EQ(Stat("auth_failures"), 0);
}

TEST_F(FakeS3Test, StalledRequestTimesOutAndIsRetried) {
  S3Options options = FastOptions();
  options.request_timeout = absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret, options));
  ASSERT_OK(store->Put("s/1", "stalled"));
  Control("/_fault?mode=stall&stall=3&count=1&op=get");
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(std::string data, store->Get("s/1"));
  EXPECT_EQ(data, "stalled");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(FakeS3Test, RetriesAreBoundedAndPermanentErrorsAreClear) {
  S3Options options = FastOptions();
  options.max_attempts = 3;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret, options));
  Control("/_fault?mode=503&count=100&op=put");
  EXPECT_THAT(store->Put("p/1", "x"),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::AllOf(HasSubstr("after 3 attempts"), HasSubstr("SlowDown"))));
  EXPECT_EQ(Stat("op_put"), 3);
  Control("/_reset");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store->List("p/"));
  EXPECT_TRUE(listed.empty());

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> other,
                       Open(kSecret, options, "no-such-bucket"));
  EXPECT_THAT(other->Put("p/1", "x"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("no-such-bucket"),
                                        HasSubstr("does not exist"))));
  EXPECT_THAT(other->List(""), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Stat("op_put"), 1);  // a permanent error is not retried

  // Nothing listens: connection refused, retried, then kUnavailable.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> dead,
                       OpenS3Store("s3://testbucket?endpoint=http://127.0.0.1:1", options,
                                   CredentialsEnv(kAccessKey, kSecret)));
  EXPECT_THAT(dead->Put("p/1", "x"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(FakeS3Test, MultipartFailureMidwayIsAborted) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, Open(kSecret));
  // Parts 1 and 2 go up; part 3 fails on every attempt.
  Control("/_fault?mode=500&count=100&op=part&after=2");
  std::string big = WriteFile(dir_ + "/big", RandomBytes(40 << 20, 6));
  EXPECT_THAT(store->PutFile("m/big", big),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("part 3")));
  EXPECT_TRUE(std::filesystem::exists(big));
  EXPECT_EQ(Stat("ok_part"), 2);
  EXPECT_EQ(Stat("ok_abort"), 1);
  EXPECT_EQ(Stat("uploads_in_progress"), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store->List("m/"));
  EXPECT_TRUE(listed.empty());
  // The same file goes up once the bucket behaves.
  Control("/_reset");
  ASSERT_OK(store->PutFile("m/big", big));
  ASSERT_OK_AND_ASSIGN(listed, store->List("m/"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].size, uint64_t{40} << 20);
}

}  // namespace
}  // namespace walship::sinks::s3
