// The HTTP endpoint on --metrics-listen ADDR:PORT: GET /metrics (Prometheus text format of a
// registry) and GET /healthz (200 "ok" or 503 with a one-line reason, see health.h).
//
// One civetweb server serves both paths on one port; /metrics is rendered with
// prometheus-cpp's TextSerializer, as prometheus::Exposer does, but the server also
// answers /healthz, which Exposer cannot.
#ifndef WALSHIP_AGENT_METRICS_METRICS_SERVER_H_
#define WALSHIP_AGENT_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/metrics/health.h"
#include "prometheus/registry.h"

class CivetServer;
class CivetHandler;

namespace walship::agent {

// A numeric listen address: "127.0.0.1:9187", "0.0.0.0:9187", "[::1]:9187",
// "localhost:9187" (taken as 127.0.0.1). Port 0 picks a free port.
struct ListenAddress {
  std::string host;  // numeric, without brackets
  int port = 0;
  bool ipv6 = false;
  // "127.0.0.1:9187" / "[::1]:9187"
  std::string ToString() const;
};
// kInvalidArgument with an example for anything else.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

struct MetricsServerOptions {
  std::string listen;  // ADDR:PORT, see ParseListenAddress()
  // How long a pending position may stand still before /healthz answers 503.
  absl::Duration stall_threshold = kDefaultStallThreshold;
  int threads = 2;
};

// Owns the listening socket and its threads. `registry` and `metrics` must outlive it;
// handler threads call metrics.Refresh()/Health() and registry.Collect() concurrently
// with the agent's loop (both are thread-safe). Destruction stops the server and waits for
// in-flight requests.
class MetricsServer {
 public:
  // Binds and starts serving. Errors: kInvalidArgument (malformed address),
  // kFailedPrecondition (address in use, permission denied, address not on this host).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const MetricsServerOptions& options,
                                                              prometheus::Registry& registry,
                                                              AgentMetrics& metrics);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port (the real one when started with port 0).
  int port() const { return port_; }
  // "127.0.0.1:<port>"-style address actually bound.
  std::string address() const;

 private:
  MetricsServer() = default;

  ListenAddress listen_;
  int port_ = 0;
  std::unique_ptr<CivetHandler> metrics_handler_;
  std::unique_ptr<CivetHandler> health_handler_;
  std::unique_ptr<CivetServer> server_;  // destroyed first: stops threads before handlers go
};

}  // namespace walship::agent

#endif  // WALSHIP_AGENT_METRICS_METRICS_SERVER_H_
