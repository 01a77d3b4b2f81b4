// The encrypting decorator: envelopes on the way in, authenticated plaintext on the way out.
#include "sinks/object_store/encryption/encrypted_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/status_macros.h"
#include "sinks/object_store/encryption/encrypted_source.h"
#include "sinks/object_store/encryption/envelope_format.h"
#include "sinks/object_store/encryption/encrypting_sink.h"
#include "sinks/object_store/file_util.h"

namespace walship::sinks {

EncryptedObjectStore::EncryptedObjectStore(std::unique_ptr<ObjectStore> inner,
                                           std::shared_ptr<const KeyRing> ring)
    : inner_(std::move(inner)), ring_(std::move(ring)) {}

absl::Status EncryptedObjectStore::Put(absl::string_view key, absl::string_view data) {
  proto::StringByteSink stored;
  std::string context = absl::StrFormat("encrypting object \"%s\"", key);
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<EncryptingSink> sink,
                           EncryptingSink::Create(&stored, key, *ring_));
  WALSHIP_RETURN_IF_ERROR(Annotate(sink->Append(data), context));
  WALSHIP_RETURN_IF_ERROR(Annotate(sink->Finish(), context));
  return inner_->Put(key, stored.data());
}

absl::Status EncryptedObjectStore::PutFile(absl::string_view key, const std::string& path) {
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return sinks::ErrnoStatus(errno, absl::StrFormat("opening \"%s\"", path));
  absl::Cleanup close_in = [in] { ::close(in); };

  // Beside the plaintext file: same file system, so the inner store can usually link it.
  std::string temp = absl::StrCat(path, ".enc-XXXXXX");
  int out = ::mkostemp(temp.data(), O_CLOEXEC);
  if (out < 0) {
    return sinks::ErrnoStatus(errno, absl::StrFormat("creating \"%s\"", temp));
  }
  bool out_open = true;
  absl::Cleanup cleanup_out = [&] {
    if (out_open) ::close(out);
    ::unlink(temp.c_str());  // gone already when the inner store consumed it
  };
  std::string what = absl::StrFormat("encrypting \"%s\" into \"%s\"", path, temp);
  proto::FdByteSink stored(out, temp);
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<EncryptingSink> sink,
                           EncryptingSink::Create(&stored, key, *ring_));
  std::string buffer(envelope::kDefaultChunkSize, '\0');
  while (true) {
    ssize_t got = ::read(in, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return sinks::ErrnoStatus(errno, absl::StrFormat("reading \"%s\"", path));
    }
    if (got == 0) break;
    WALSHIP_RETURN_IF_ERROR(
        Annotate(sink->Append(absl::string_view(buffer.data(), static_cast<size_t>(got))), what));
  }
  WALSHIP_RETURN_IF_ERROR(Annotate(sink->Finish(), what));
  out_open = false;
  if (::close(out) != 0) return sinks::ErrnoStatus(errno, what);
  WALSHIP_RETURN_IF_ERROR(inner_->PutFile(key, temp));
  ::unlink(path.c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncryptedObjectStore::Get(absl::string_view key) {
  WALSHIP_ASSIGN_OR_RETURN(std::string stored, inner_->Get(key));
  WALSHIP_ASSIGN_OR_RETURN(
      std::unique_ptr<proto::RandomAccessSource> source,
      OpenEncryptedSource(key, proto::MakeStringSource(std::string(key), std::move(stored)),
                          ring_));
  std::string plaintext;
  WALSHIP_RETURN_IF_ERROR(source->ReadAt(0, static_cast<size_t>(source->size()), &plaintext));
  return plaintext;
}

absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> EncryptedObjectStore::Open(
    absl::string_view key) {
  WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::RandomAccessSource> stored, inner_->Open(key));
  return OpenEncryptedSource(key, std::move(stored), ring_);
}

absl::StatusOr<std::vector<ObjectInfo>> EncryptedObjectStore::List(absl::string_view prefix) {
  return inner_->List(prefix);
}

absl::Status EncryptedObjectStore::Delete(absl::string_view key) { return inner_->Delete(key); }

namespace {

// The key variable's value, read once: the variable is then removed from the environment and
// its bytes in the process's initial environment block are wiped, so /proc/PID/environ and
// child processes never show it.
const std::string& EnvironmentKeyText() {
  static const std::string* text = [] {
    char* env = std::getenv(kEncryptionKeyEnvVar);
    auto* value = new std::string(env == nullptr ? "" : env);
    if (env != nullptr) {
      volatile char* bytes = env;
      for (size_t i = 0; bytes[i] != '\0'; ++i) bytes[i] = '\0';
      ::unsetenv(kEncryptionKeyEnvVar);
    }
    return value;
  }();
  return *text;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const KeyRing>> LoadConfiguredKeyRing(const std::string& key_file) {
  const std::string& env_text = EnvironmentKeyText();
  const char* env = env_text.c_str();
  bool env_set = !env_text.empty();
  if (!key_file.empty() && env_set) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "both --encryption-key-file and the environment variable %s are set; use one",
        kEncryptionKeyEnvVar));
  }
  if (!key_file.empty()) return KeyRing::FromFile(key_file);
  if (env_set) {
    return KeyRing::FromText(env, absl::StrFormat("environment variable %s", kEncryptionKeyEnvVar));
  }
  return std::shared_ptr<const KeyRing>();
}

absl::StatusOr<std::unique_ptr<ObjectStore>> MaybeEncrypt(std::unique_ptr<ObjectStore> store,
                                                          const std::string& key_file) {
  WALSHIP_ASSIGN_OR_RETURN(std::shared_ptr<const KeyRing> ring, LoadConfiguredKeyRing(key_file));
  if (ring == nullptr) return store;
  return std::unique_ptr<ObjectStore>(
      std::make_unique<EncryptedObjectStore>(std::move(store), std::move(ring)));
}

namespace {

// Without keys: an object that starts with the envelope magic is refused, by name.
absl::Status RefuseIfEncrypted(absl::string_view key, absl::string_view head) {
  if (!absl::StartsWith(head, envelope::kMagic)) return absl::OkStatus();
  absl::StatusOr<envelope::Header> header = envelope::ParseHeader(key, head);
  std::string key_id = header.ok() ? header->key_id : std::string("?");
  return absl::FailedPreconditionError(absl::StrFormat(
      "object \"%s\" is encrypted with key \"%s\" but no key is configured; give the key "
      "ring with --encryption-key-file or %s",
      key, key_id, kEncryptionKeyEnvVar));
}

class PlaintextOnlyStore : public ObjectStore {
 public:
  explicit PlaintextOnlyStore(std::unique_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}

  std::string url() const override { return inner_->url(); }
  absl::Status Put(absl::string_view key, absl::string_view data) override {
    return inner_->Put(key, data);
  }
  absl::Status PutFile(absl::string_view key, const std::string& path) override {
    return inner_->PutFile(key, path);
  }
  absl::StatusOr<std::string> Get(absl::string_view key) override {
    WALSHIP_ASSIGN_OR_RETURN(std::string data, inner_->Get(key));
    WALSHIP_RETURN_IF_ERROR(RefuseIfEncrypted(
        key, absl::string_view(data).substr(0, envelope::kMaxHeaderBytes)));
    return data;
  }
  absl::StatusOr<std::unique_ptr<proto::RandomAccessSource>> Open(
      absl::string_view key) override {
    WALSHIP_ASSIGN_OR_RETURN(std::unique_ptr<proto::RandomAccessSource> source, inner_->Open(key));
    std::string head;
    size_t n = static_cast<size_t>(std::min<uint64_t>(source->size(), envelope::kMaxHeaderBytes));
    WALSHIP_RETURN_IF_ERROR(source->ReadAt(0, n, &head));
    WALSHIP_RETURN_IF_ERROR(RefuseIfEncrypted(key, head));
    return source;
  }
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override {
    return inner_->List(prefix);
  }
  absl::Status Delete(absl::string_view key) override { return inner_->Delete(key); }

 private:
  const std::unique_ptr<ObjectStore> inner_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectStore>> MaybeDecrypt(std::unique_ptr<ObjectStore> store,
                                                          const std::string& key_file) {
  WALSHIP_ASSIGN_OR_RETURN(std::shared_ptr<const KeyRing> ring, LoadConfiguredKeyRing(key_file));
  if (ring == nullptr) {
    return std::unique_ptr<ObjectStore>(std::make_unique<PlaintextOnlyStore>(std::move(store)));
  }
  return std::unique_ptr<ObjectStore>(
      std::make_unique<EncryptedObjectStore>(std::move(store), std::move(ring)));
}

}  // namespace walship::sinks
