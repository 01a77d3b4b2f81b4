// Test certificates from the openssl command line.
#include "tests/testing/tls_certs.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

absl::Status Openssl(std::vector<std::string> args) {
  std::string openssl;
  for (const char* path : {"/usr/bin/openssl", "/usr/local/bin/openssl"}) {
    if (std::filesystem::exists(path)) {
      openssl = path;
      break;
    }
  }
  if (openssl.empty()) {
    return absl::FailedPreconditionError(
        "the openssl command is missing (apt-get install openssl, or run "
        "docker/install_deps.sh --test-peers)");
  }
  args.insert(args.begin(), openssl);
  absl::StatusOr<SubprocessResult> run = Subprocess::Run(args, absl::Seconds(60));
  if (!run.ok()) return run.status();
  if (!run->ok()) {
    return absl::InternalError(absl::StrCat("openssl ", args[1], " failed (", run->Describe(),
                                            "): ", run->stderr_text));
  }
  return absl::OkStatus();
}

// A self-signed CA certificate and its key.
absl::Status MakeCa(const std::string& cert, const std::string& key, const std::string& name) {
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj",
                  absl::StrCat("/CN=", name), "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
}

}  // namespace

absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("creating ", dir, ": ", error.message()));
  TestCertificates certs;
  certs.ca_cert = dir + "/ca.crt";
  certs.server_cert = dir + "/server.crt";
  certs.server_key = dir + "/server.key";
  certs.other_ca_cert = dir + "/other-ca.crt";
  std::string ca_key = dir + "/ca.key";
  std::string csr = dir + "/server.csr";
  std::string extensions = dir + "/server.ext";
  absl::Status made = MakeCa(certs.ca_cert, ca_key, "walship test CA");
  if (!made.ok()) return made;
  made = MakeCa(certs.other_ca_cert, dir + "/other-ca.key", "some other CA");
  if (!made.ok()) return made;
  made = Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", certs.server_key, "-out", csr, "-subj", "/CN=localhost"});
  if (!made.ok()) return made;
  std::ofstream(extensions) << "subjectAltName=DNS:localhost\n"
                               "basicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature,keyEncipherment\n"
                               "extendedKeyUsage=serverAuth\n";
  made = Openssl({"x509", "-req", "-in", csr, "-CA", certs.ca_cert, "-CAkey", ca_key,
                  "-CAcreateserial", "-out", certs.server_cert, "-days", "2", "-extfile",
                  extensions});
  if (!made.ok()) return made;
  ::chmod(certs.server_key.c_str(), 0600);
  return certs;
}

}  // namespace walship::testing
