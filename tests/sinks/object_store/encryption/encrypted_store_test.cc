// Tests for EncryptedObjectStore: round trips, random access, wrong and missing keys,
// tampering, truncation, copies under another name, rotation, and PutFile over a local
// directory.
#include "sinks/object_store/encryption/encrypted_store.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sinks/object_store/encryption/envelope_format.h"
#include "sinks/object_store/local_dir_store.h"
#include "tests/testing/encryption_keys.h"
#include "tests/testing/memory_object_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/transaction_builders.h"
#include "tests/testing/status_matchers.h"

namespace walship::sinks {
namespace {

using MemoryStore = ::walship::testing::MemoryObjectStore;
using ::walship::testing::Payload;
using ::walship::testing::Ring;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

constexpr uint64_t kChunk = envelope::kDefaultChunkSize;
constexpr char kKey[] = "7123/walship/wal/0000000001000000-0000000002000000.seg";

class EncryptedStoreTest : public ::testing::Test {
 protected:
  // A store over the shared in-memory objects with the given ring.
  std::unique_ptr<EncryptedObjectStore> StoreWith(std::shared_ptr<const KeyRing> ring) {
    return std::make_unique<EncryptedObjectStore>(std::make_unique<MemoryStore>(state_),
                                                  std::move(ring));
  }
  std::string& Stored(const std::string& key) { return state_->objects.at(key); }
  void PutRaw(const std::string& key, std::string data) { state_->objects[key] = std::move(data); }

  std::shared_ptr<MemoryStore::State> state_ = std::make_shared<MemoryStore::State>();
  std::unique_ptr<EncryptedObjectStore> store_ = StoreWith(Ring({{"A", 1}}));
};

TEST_F(EncryptedStoreTest, RoundTripsEverySizeAroundChunkBoundaries) {
  for (uint64_t size :
       {uint64_t{0}, uint64_t{1}, kChunk - 1, kChunk, kChunk + 1, uint64_t{5} << 20}) {
    std::string key = absl::StrCat("obj/", size);
    std::string data = Payload(size);
    ASSERT_OK(store_->Put(key, data));
    envelope::Header header;
    header.key_id = "A";
    EXPECT_EQ(Stored(key).size(), envelope::StoredSize(header, size)) << size;
    ASSERT_OK_AND_ASSIGN(std::string got, store_->Get(key));
    EXPECT_TRUE(got == data) << size;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source, store_->Open(key));
    EXPECT_EQ(source->size(), size);
    std::string read;
    ASSERT_OK(source->ReadAt(0, size, &read));
    EXPECT_TRUE(read == data) << size;
  }
}

TEST_F(EncryptedStoreTest, StoredBytesHideThePlaintextAndDifferEachTime) {
  std::string data = "PLAINTEXT-CANARY-7f3a " + std::string(1000, 'x');
  ASSERT_OK(store_->Put("a", data));
  ASSERT_OK(store_->Put("b", data));
  EXPECT_THAT(Stored("a"), Not(HasSubstr("PLAINTEXT-CANARY")));
  EXPECT_THAT(Stored("a"), Not(HasSubstr("xxxxxxxx")));
  EXPECT_EQ(Stored("a").substr(0, 8), std::string("WSHPENC\x01", 8));
  // Fresh nonce per object: same plaintext, different ciphertext.
  EXPECT_NE(Stored("a").substr(envelope::kFixedHeaderBytes + 1),
            Stored("b").substr(envelope::kFixedHeaderBytes + 1));
}

TEST_F(EncryptedStoreTest, RandomAccessReadsAcrossChunkBoundaries) {
  const uint64_t size = 3 * kChunk + 123;
  std::string data = Payload(size);
  ASSERT_OK(store_->Put(kKey, data));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source, store_->Open(kKey));
  ASSERT_EQ(source->size(), size);
  EXPECT_EQ(source->name(), kKey);
  std::vector<uint64_t> offsets = {0,          1,
                                   kChunk - 1, kChunk,
                                   kChunk + 1, 2 * kChunk - 1,
                                   2 * kChunk, 3 * kChunk - 1,
                                   3 * kChunk, size - 1,
                                   size};
  std::vector<uint64_t> lengths = {0, 1, 2, 17, kChunk - 1, kChunk, kChunk + 1, 2 * kChunk + 5};
  for (uint64_t offset : offsets) {
    for (uint64_t n : lengths) {
      if (offset + n > size) continue;
      std::string out;
      ASSERT_OK(source->ReadAt(offset, n, &out));
      ASSERT_TRUE(out == data.substr(offset, n)) << offset << "+" << n;
    }
  }
  std::string out;
  EXPECT_THAT(source->ReadAt(size - 1, 2, &out), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(source->ReadAt(size + 1, 0, &out), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(EncryptedStoreTest, ConcurrentReadsOfOneSourceAgree) {
  const uint64_t size = 8 * kChunk;
  std::string data = Payload(size);
  ASSERT_OK(store_->Put(kKey, data));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source, store_->Open(kKey));
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 40; ++i) {
        uint64_t offset = ((i * 7 + t * 3) % 8) * kChunk + t * 100;
        std::string out;
        if (!source->ReadAt(offset, 500, &out).ok() || out != data.substr(offset, 500)) ++bad[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST_F(EncryptedStoreTest, WrongKeyBytesFailAuthentication) {
  ASSERT_OK(store_->Put(kKey, Payload(1000)));
  auto other = StoreWith(Ring({{"A", 99}}));  // same id, different bytes
  EXPECT_THAT(other->Get(kKey),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("object \"", kKey,
                                              "\" failed authentication with key \"A\""))));
  EXPECT_THAT(other->Open(kKey), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(EncryptedStoreTest, KeyIdMissingFromTheRingIsFailedPrecondition) {
  ASSERT_OK(store_->Put(kKey, Payload(10)));
  auto other = StoreWith(Ring({{"B", 2}}));
  std::string want = absl::StrCat("object \"", kKey,
                                  "\" is encrypted with key \"A\", which is not in the key "
                                  "ring (--encryption-key-file)");
  EXPECT_THAT(other->Get(kKey), StatusIs(absl::StatusCode::kFailedPrecondition, want));
  EXPECT_THAT(other->Open(kKey), StatusIs(absl::StatusCode::kFailedPrecondition, want));
}

TEST_F(EncryptedStoreTest, ErrorsNeverContainKeyBytes) {
  ASSERT_OK(store_->Put(kKey, Payload(10)));
  std::string secret = ::walship::testing::KeyBase64(99);
  auto other = StoreWith(Ring({{"A", 99}}));
  absl::Status status = other->Get(kKey).status();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(secret.substr(0, 8))));
}

TEST_F(EncryptedStoreTest, RotationReadsOldKeysAndWritesWithTheFirst) {
  ASSERT_OK(store_->Put("old", "written with A"));
  auto rotated = StoreWith(Ring({{"B", 2}, {"A", 1}}));
  ASSERT_OK_AND_ASSIGN(std::string old, rotated->Get("old"));
  EXPECT_EQ(old, "written with A");
  ASSERT_OK(rotated->Put("new", "written with B"));
  EXPECT_EQ(Stored("new").substr(9, 2), std::string("\x01"
                                                    "B",
                                                    2));
  EXPECT_THAT(StoreWith(Ring({{"B", 2}}))->Get("new"), IsOk());
  EXPECT_THAT(store_->Get("new"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                           HasSubstr("key \"B\", which is not in the key ring")));
}

TEST_F(EncryptedStoreTest, ObjectCopiedUnderAnotherNameFailsAuthentication) {
  ASSERT_OK(store_->Put(kKey, Payload(3 * kChunk)));
  std::string other_key = "7123/walship/wal/0000000002000000-0000000003000000.seg";
  PutRaw(other_key, Stored(kKey));
  EXPECT_THAT(store_->Get(other_key),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("object \"", other_key,
                                              "\" failed authentication with key \"A\": "
                                              "wrong key, tampered"))));
  EXPECT_THAT(store_->Open(other_key), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(store_->Get(kKey), IsOk());
}

TEST_F(EncryptedStoreTest, PlainObjectIsDataLossNamingIt) {
  PutRaw("plain", "WSHPSEG... an unencrypted segment");
  EXPECT_THAT(store_->Get("plain"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("object \"plain\" is not an encrypted object")));
  EXPECT_THAT(store_->Open("plain"), StatusIs(absl::StatusCode::kDataLoss));
}

struct Region {
  std::string name;
  size_t offset;  // byte to flip, in a stored object of 2 chunks + 10 bytes with key id "A"
  absl::StatusCode code;
};

TEST_F(EncryptedStoreTest, AFlippedByteInAnyRegionIsRefused) {
  const size_t h = envelope::kFixedHeaderBytes + 1;  // key id "A"
  const size_t stored_chunk = kChunk + envelope::kTagBytes;
  const Region regions[] = {
      {"magic", 0, absl::StatusCode::kDataLoss},
      {"magic last byte", 7, absl::StatusCode::kDataLoss},
      {"version", 8, absl::StatusCode::kDataLoss},
      {"key id length", 9, absl::StatusCode::kDataLoss},
      {"key id", 10, absl::StatusCode::kFailedPrecondition},  // "C" becomes "B"; see below
      {"nonce first", 11, absl::StatusCode::kDataLoss},
      {"nonce last", 22, absl::StatusCode::kDataLoss},
      {"chunk size high", 23, absl::StatusCode::kDataLoss},
      {"chunk size low", 26, absl::StatusCode::kDataLoss},
      {"chunk 0 ciphertext", h + 5, absl::StatusCode::kDataLoss},
      {"chunk 0 tag", h + kChunk + 3, absl::StatusCode::kDataLoss},
      {"chunk 1 ciphertext", h + stored_chunk, absl::StatusCode::kDataLoss},
      {"chunk 1 tag", h + 2 * stored_chunk - 1, absl::StatusCode::kDataLoss},
      {"last chunk ciphertext", h + 2 * stored_chunk + 2, absl::StatusCode::kDataLoss},
      {"last chunk tag", h + 2 * stored_chunk + 10 + 15, absl::StatusCode::kDataLoss},
  };
  std::string data = Payload(2 * kChunk + 10);
  // Key id "C" with a flipped low bit is "B": a valid id that is not in the ring.
  auto store = StoreWith(Ring({{"C", 3}}));
  ASSERT_OK(store->Put("original", data));
  ASSERT_EQ(Stored("original").size(), h + 3 * envelope::kTagBytes + data.size());
  const std::string original = Stored("original");
  for (const Region& region : regions) {
    // Tampered in place: same key name, so only the flipped byte can be to blame.
    std::string bytes = original;
    ASSERT_LT(region.offset, bytes.size()) << region.name;
    bytes[region.offset] ^= 0x01;
    const std::string key = "original";
    PutRaw(key, bytes);
    absl::StatusOr<std::string> got = store->Get(key);
    EXPECT_THAT(got, StatusIs(region.code)) << region.name;
    // Through Open, whole-object reads must fail too (Open may already refuse).
    absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> source = store->Open(key);
    if (source.ok()) {
      std::string out;
      EXPECT_THAT((*source)->ReadAt(0, (*source)->size(), &out), StatusIs(region.code))
          << region.name;
    } else {
      EXPECT_THAT(source, StatusIs(region.code)) << region.name;
    }
  }
  PutRaw("original", original);
  ASSERT_OK_AND_ASSIGN(std::string got, store->Get("original"));
  EXPECT_TRUE(got == data);
}

TEST_F(EncryptedStoreTest, OpenRefusesTamperedLastChunkBeforeAnyRead) {
  ASSERT_OK(store_->Put(kKey, Payload(2 * kChunk + 10)));
  Stored(kKey).back() ^= 0x40;
  EXPECT_THAT(store_->Open(kKey), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(EncryptedStoreTest, TamperedMiddleChunkFailsOnlyWhenRead) {
  std::string data = Payload(3 * kChunk);
  ASSERT_OK(store_->Put(kKey, data));
  const size_t h = envelope::kFixedHeaderBytes + 1;
  Stored(kKey)[h + (kChunk + envelope::kTagBytes) + 100] ^= 0x01;  // chunk 1
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<proto::RandomAccessSource> source, store_->Open(kKey));
  std::string out;
  ASSERT_OK(source->ReadAt(10, 100, &out));  // chunk 0 is intact
  EXPECT_EQ(out, data.substr(10, 100));
  EXPECT_THAT(source->ReadAt(kChunk - 1, 2, &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("failed authentication")));
  EXPECT_TRUE(out.empty());
}

TEST_F(EncryptedStoreTest, TruncationAnywhereIsDataLoss) {
  std::string data = Payload(3 * kChunk + 500);
  ASSERT_OK(store_->Put(kKey, data));
  const std::string full = Stored(kKey);
  const size_t h = envelope::kFixedHeaderBytes + 1;
  const size_t stored_chunk = kChunk + envelope::kTagBytes;
  std::vector<size_t> cuts = {0, 1, 8, 10, h - 1, h, h + 1, h + 15, h + 16, h + 17};
  for (size_t chunk = 1; chunk <= 3; ++chunk) {
    size_t boundary = h + chunk * stored_chunk;
    for (size_t cut : {boundary - 1, boundary, boundary + 1, boundary + 16, boundary + 17,
                       boundary - stored_chunk / 2}) {
      cuts.push_back(cut);
    }
  }
  cuts.push_back(full.size() - 1);
  cuts.push_back(full.size() - 16);
  cuts.push_back(full.size() - 17);
  // Cut in place: the key name stays the one the object was written under.
  for (size_t cut : cuts) {
    ASSERT_LT(cut, full.size());
    PutRaw(kKey, full.substr(0, cut));
    EXPECT_THAT(store_->Get(kKey), StatusIs(absl::StatusCode::kDataLoss)) << cut;
    absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> source = store_->Open(kKey);
    EXPECT_THAT(source, StatusIs(absl::StatusCode::kDataLoss)) << cut;
  }
  // At a chunk boundary every chunk left authenticates, and the error says what happened.
  for (size_t chunk = 1; chunk <= 3; ++chunk) {
    PutRaw(kKey, full.substr(0, h + chunk * stored_chunk));
    EXPECT_THAT(store_->Get(kKey),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("truncated: it ends after chunk " + std::to_string(chunk - 1))));
  }
  PutRaw(kKey, full);
  ASSERT_OK_AND_ASSIGN(std::string got, store_->Get(kKey));
  EXPECT_TRUE(got == data);
}

TEST_F(EncryptedStoreTest, ListReportsStoredSizesAndDeletePassesThrough) {
  ASSERT_OK(store_->Put("p/a", "hello"));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> objects, store_->List("p/"));
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].key, "p/a");
  EXPECT_EQ(objects[0].size, envelope::kFixedHeaderBytes + 1 + 5 + envelope::kTagBytes);
  ASSERT_OK(store_->Delete("p/a"));
  EXPECT_THAT(store_->Get("p/a"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->url(), "memory://");
}

TEST_F(EncryptedStoreTest, WriteOnceIsTheInnerStores) {
  ASSERT_OK(store_->Put("k", "one"));
  EXPECT_THAT(store_->Put("k", "two"), StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(std::string got, store_->Get("k"));
  EXPECT_EQ(got, "one");
}

// PutFile over a real local directory: the object is encrypted, the plaintext file is
// consumed, and no temporary file is left behind.
class EncryptedLocalDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spool_ = dir_.Sub("spool");
    std::filesystem::create_directories(spool_);
    auto local = LocalDirStore::OpenDir(dir_.Sub("store"));
    ASSERT_OK(local.status());
    store_ = std::make_unique<EncryptedObjectStore>(*std::move(local), Ring({{"A", 1}}));
  }
  std::string WriteSpool(const std::string& name, const std::string& data) {
    std::string path = spool_ + "/" + name;
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }

  ::walship::testing::TempDir dir_;
  std::string spool_;
  std::unique_ptr<EncryptedObjectStore> store_;
};

TEST_F(EncryptedLocalDirTest, PutFileEncryptsConsumesAndCleansUp) {
  for (uint64_t size :
       {uint64_t{0}, uint64_t{1}, kChunk - 1, kChunk, kChunk + 1, uint64_t{5} << 20}) {
    std::string data = Payload(size);
    std::string key = absl::StrCat("7123/walship/wal/", size, ".seg");
    std::string path = WriteSpool("segment", data);
    ASSERT_OK(store_->PutFile(key, path));
    EXPECT_FALSE(std::filesystem::exists(path)) << size;
    EXPECT_TRUE(std::filesystem::is_empty(spool_)) << size;
    envelope::Header header;
    header.key_id = "A";
    EXPECT_EQ(std::filesystem::file_size(dir_.Sub("store/" + key)),
              envelope::StoredSize(header, size));
    ASSERT_OK_AND_ASSIGN(std::string got, store_->Get(key));
    EXPECT_TRUE(got == data) << size;
  }
}

TEST_F(EncryptedLocalDirTest, FailedPutFileKeepsTheFileAndLeavesNoTemporary) {
  std::string path = WriteSpool("segment", "first");
  ASSERT_OK(store_->PutFile("k", path));
  path = WriteSpool("segment", "second");
  EXPECT_THAT(store_->PutFile("k", path), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_TRUE(std::filesystem::exists(path));
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(spool_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  EXPECT_THAT(store_->PutFile("k2", spool_ + "/missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(MaybeEncrypt, NoKeysLeavesTheStoreAsItIs) {
  ::unsetenv(kEncryptionKeyEnvVar);
  auto state = std::make_shared<MemoryStore::State>();
  auto inner = std::make_unique<MemoryStore>(state);
  ObjectStore* raw = inner.get();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store, MaybeEncrypt(std::move(inner), ""));
  EXPECT_EQ(store.get(), raw);
}

TEST(MaybeEncrypt, KeysWrapTheStore) {
  ::walship::testing::TempDir dir;
  std::string path = dir.Sub("keys");
  std::ofstream(path) << ::walship::testing::KeyLine("A", 1) << "\n";
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ::unsetenv(kEncryptionKeyEnvVar);
  auto state = std::make_shared<MemoryStore::State>();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ObjectStore> store,
                       MaybeEncrypt(std::make_unique<MemoryStore>(state), path));
  ASSERT_OK(store->Put("k", "secret value"));
  EXPECT_THAT(state->objects.at("k"), Not(HasSubstr("secret")));
  ASSERT_OK_AND_ASSIGN(std::string got, store->Get("k"));
  EXPECT_EQ(got, "secret value");
  // A bad key file is an error, not a silently unencrypted store.
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_THAT(MaybeEncrypt(std::make_unique<MemoryStore>(state), path),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace walship::sinks
