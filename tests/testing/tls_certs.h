// Throw-away certificates for TLS tests, made with the openssl command line: a private CA,
// a server certificate it signs for the name "localhost" only (no IP address, so that a
// connection to 127.0.0.1 with host-name checks is refused), and an unrelated second CA
// (the "wrong CA" a client may be given).
#ifndef WALSHIP_TESTS_TESTING_TLS_CERTS_H_
#define WALSHIP_TESTS_TESTING_TLS_CERTS_H_

#include <string>

#include "absl/status/statusor.h"

namespace walship::testing {

struct TestCertificates {
  std::string ca_cert;      // PEM: the CA that signed server_cert
  std::string server_cert;  // PEM: CN and subjectAltName DNS:localhost
  std::string server_key;   // PEM, mode 0600
  std::string other_ca_cert;  // PEM: a CA that signed nothing here
};

// Writes them into `dir` (created when missing). kFailedPrecondition naming openssl when
// the command is missing.
absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir);

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_TLS_CERTS_H_
