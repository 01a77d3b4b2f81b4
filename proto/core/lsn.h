// Log sequence numbers and the other small strong id types shared by every part of walship.
#ifndef WALSHIP_PROTO_CORE_LSN_H_
#define WALSHIP_PROTO_CORE_LSN_H_

#include <compare>
#include <cstdint>
#include <string>
#include <utility>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace walship {

// A position in PostgreSQL's write-ahead log. Prints as "16/B374D848" (as PostgreSQL does)
// with ToString() and as 16 zero-padded upper-case hex digits with ToKey() (object keys,
// so that keys list in LSN order).
class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  static constexpr Lsn Invalid() { return Lsn(0); }
  static constexpr Lsn Max() { return Lsn(UINT64_MAX); }

  // Parses "X/X" (PostgreSQL's form) or the 16-digit key form.
  static absl::StatusOr<Lsn> Parse(absl::string_view text);

  constexpr uint64_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }
  std::string ToString() const;
  std::string ToKey() const;

  constexpr auto operator<=>(const Lsn&) const = default;

 private:
  uint64_t value_ = 0;
};

// An event's place in the stream (contract 1): its transaction's commit LSN, then its
// sequence within the transaction. Unique and ordered; duplicates after a crash repeat it.
struct EventPosition {
  Lsn commit_lsn;
  uint32_t sequence = 0;

  constexpr auto operator<=>(const EventPosition&) const = default;
  // "16/B374D848#12"
  std::string ToString() const;
};

// A transaction id as pgoutput sends it (32 bits, no epoch). Prints as its number.
class Xid {
 public:
  constexpr Xid() = default;
  constexpr explicit Xid(uint32_t value) : value_(value) {}

  constexpr uint32_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }
  std::string ToString() const;

  constexpr auto operator<=>(const Xid&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, Xid xid) {
    return H::combine(std::move(h), xid.value_);
  }

 private:
  uint32_t value_ = 0;
};
// A relation's OID in the source database (as pgoutput and the events carry it).
class RelationOid {
 public:
  constexpr RelationOid() = default;
  constexpr explicit RelationOid(uint32_t value) : value_(value) {}

  constexpr uint32_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }
  std::string ToString() const;

  constexpr auto operator<=>(const RelationOid&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, RelationOid oid) {
    return H::combine(std::move(h), oid.value_);
  }

 private:
  uint32_t value_ = 0;
};

}  // namespace walship

#endif  // WALSHIP_PROTO_CORE_LSN_H_
