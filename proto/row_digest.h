// The order-independent digest of a table's rows that walship.proto BaseTable.row_digest
// documents: the agent computes it from the rows it copies into a base (split into chunks or
// not), a restore and `walship-replay verify` from the rows a target holds, and the two are
// compared. Digests of disjoint parts of a table add up to the digest of the whole.
//
//   RowDigest digest;
//   for (absl::string_view line : rows) digest.Add(line);   // COPY text, without "\n"
//   std::string hex = digest.Hex();                          // 32 lowercase hex digits
#ifndef WALSHIP_PROTO_ROW_DIGEST_H_
#define WALSHIP_PROTO_ROW_DIGEST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace walship::proto {

class RowDigest {
 public:
  RowDigest();
  ~RowDigest();
  RowDigest(const RowDigest& other);
  RowDigest& operator=(const RowDigest& other);

  // One row: its line of COPY text without the trailing newline (a trailing "\n" is
  // ignored, so whole lines may be passed too).
  void Add(absl::string_view line);
  // Adds every line of `lines`, rows of COPY text each ending with "\n".
  void AddLines(absl::string_view lines);
  // The digest of both parts together (multisets add: a row present twice counts twice).
  void Merge(const RowDigest& other);

  uint64_t rows() const { return rows_; }
  // The two 64-bit sums, "%016x%016x".
  std::string Hex() const;
  // The inverse of Hex(); nullopt unless `hex` is 32 hex digits.
  static std::optional<RowDigest> FromHex(absl::string_view hex, uint64_t rows);

  friend bool operator==(const RowDigest& a, const RowDigest& b) {
    return a.rows_ == b.rows_ && a.high_ == b.high_ && a.low_ == b.low_;
  }

 private:
  struct Hasher;
  uint64_t rows_ = 0;
  uint64_t high_ = 0;               // sum of each row's MD5 bytes 0-7, big-endian, mod 2^64
  uint64_t low_ = 0;                // sum of bytes 8-15
  std::unique_ptr<Hasher> hasher_;  // reused across rows; made on first use
};

}  // namespace walship::proto

#endif  // WALSHIP_PROTO_ROW_DIGEST_H_
