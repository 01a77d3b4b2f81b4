// KafkaMockCluster: runs the walship_mockcluster helper (librdkafka's mock Kafka cluster in its
// own process, on 127.0.0.1 TCP ports) so that the agent and independent clients such as kcat
// can all reach it, and drives its fault injection.
//
//   ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3, {"crm.public.deals:3:3"}));
//   agent args: --kafka kafka->bootstrap()
//   ASSERT_OK(kafka->Command("down 1"));
//
// Limits of the mock (no compaction, no transaction markers, slow group re-joins) are listed in
// ENVIRONMENT.md. The destructor SIGKILLs the helper (its graceful exit takes ~2.5 s).
// Not thread-safe.
#ifndef WALSHIP_TESTS_TESTING_KAFKA_MOCK_H_
#define WALSHIP_TESTS_TESTING_KAFKA_MOCK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {

class KafkaMockCluster {
 public:
  // Starts `brokers` brokers with `topics` given as "name:partitions:replication".
  // `binary` defaults to MockClusterBinary() (tests/testing/binaries.h).
  static absl::StatusOr<std::unique_ptr<KafkaMockCluster>> Start(
      int brokers, const std::vector<std::string>& topics = {}, std::string binary = "");

  // "127.0.0.1:port,127.0.0.1:port,...".
  const std::string& bootstrap() const { return bootstrap_; }

  // Sends one control line ("down 1", "err 0 6 6", "leader t 0 2", "topic t 3 3", ...) and
  // returns the rd_kafka_resp_err_t it answered (0 is success). kInvalidArgument when the
  // helper did not understand the line.
  absl::StatusOr<int> Command(absl::string_view line);

  // Stops the helper gracefully (SIGTERM) and waits for it.
  absl::Status Stop();

 private:
  KafkaMockCluster(std::unique_ptr<Subprocess> process, std::string bootstrap)
      : process_(std::move(process)), bootstrap_(std::move(bootstrap)) {}

  std::unique_ptr<Subprocess> process_;
  std::string bootstrap_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_TESTING_KAFKA_MOCK_H_
