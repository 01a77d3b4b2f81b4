// Reads Kafka topics with kcat, the independent client the tests trust: binary-safe, so
// protobuf keys and values come back byte for byte.
#ifndef WALSHIP_TESTS_TESTING_KCAT_H_
#define WALSHIP_TESTS_TESTING_KCAT_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace walship::testing {

struct ConsumedMessage {
  int partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;    // nullopt: null key
  std::optional<std::string> value;  // nullopt: tombstone
  std::string headers;               // "walship.position=...,walship.xid=...,walship.op=..."
};

// Every message of `topic` from the beginning, in (partition, offset) order. kcat prints a
// text line with partition, offset, key and value lengths (-1 for null) and headers, then
// the raw key and value bytes.
absl::StatusOr<std::vector<ConsumedMessage>> KcatConsume(const std::string& bootstrap,
                                                         const std::string& topic,
                                                         absl::Duration timeout = absl::Seconds(120));

// Topic names the cluster knows (kcat -L).
absl::StatusOr<std::set<std::string>> KcatListTopics(const std::string& bootstrap);

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_KCAT_H_
