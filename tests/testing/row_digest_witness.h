// A second, independent computation of BaseTable.row_digest for tests: OpenSSL's one-shot
// EVP_Digest per line and plain 64-bit sums, written from the definition in walship.proto
// (not from proto/row_digest.cc), so a test comparing the two checks the product's code.
#ifndef WALSHIP_TESTS_TESTING_ROW_DIGEST_WITNESS_H_
#define WALSHIP_TESTS_TESTING_ROW_DIGEST_WITNESS_H_

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace walship::testing {

// `lines`: one row's COPY text each, with or without its trailing newline.
inline std::string WitnessRowDigest(const std::vector<std::string>& lines) {
  uint64_t sums[2] = {0, 0};
  for (std::string line : lines) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(line.data(), line.size(), md, &size, EVP_md5(), nullptr);
    for (int half = 0; half < 2; ++half) {
      uint64_t value = 0;
      for (int i = 0; i < 8; ++i) value = value * 256 + md[half * 8 + i];
      sums[half] += value;
    }
  }
  return absl::StrFormat("%016x%016x", sums[0], sums[1]);
}

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_ROW_DIGEST_WITNESS_H_
