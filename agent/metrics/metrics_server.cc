// The /metrics and /healthz HTTP endpoint on civetweb.
#include "agent/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "CivetServer.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "prometheus/text_serializer.h"

namespace walship::agent {
namespace {

constexpr absl::string_view kExample = "e.g. 127.0.0.1:9187, 0.0.0.0:9187 or [::1]:9187";

void Reply(mg_connection* conn, int code, absl::string_view status, absl::string_view type,
           absl::string_view body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            code, std::string(status).c_str(), std::string(type).c_str(), body.size());
  mg_write(conn, body.data(), body.size());
}

class MetricsHandler : public CivetHandler {
 public:
  MetricsHandler(prometheus::Registry& registry, AgentMetrics& metrics)
      : registry_(registry), metrics_(metrics) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    metrics_.Refresh();
    std::string body = prometheus::TextSerializer().Serialize(registry_.Collect());
    Reply(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body);
    return true;
  }

 private:
  prometheus::Registry& registry_;
  AgentMetrics& metrics_;
};

class HealthHandler : public CivetHandler {
 public:
  HealthHandler(AgentMetrics& metrics, absl::Duration threshold)
      : metrics_(metrics), threshold_(threshold) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    HealthVerdict verdict = metrics_.Health(threshold_);
    if (verdict.healthy) {
      Reply(conn, 200, "OK", "text/plain; charset=utf-8", "ok\n");
    } else {
      Reply(conn, 503, "Service Unavailable", "text/plain; charset=utf-8",
            absl::StrCat(verdict.reason, "\n"));
    }
    return true;
  }

 private:
  AgentMetrics& metrics_;
  absl::Duration threshold_;
};

// civetweb reports a failed start only as "null context"; a probe bind says why.
absl::Status DiagnoseListenFailure(const ListenAddress& address, absl::string_view detail) {
  int family = address.ipv6 ? AF_INET6 : AF_INET;
  int fd = socket(family, SOCK_STREAM, 0);
  int err = 0;
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc;
    if (address.ipv6) {
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(static_cast<uint16_t>(address.port));
      inet_pton(AF_INET6, address.host.c_str(), &sa.sin6_addr);
      rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    } else {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<uint16_t>(address.port));
      inet_pton(AF_INET, address.host.c_str(), &sa.sin_addr);
      rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    }
    if (rc != 0) err = errno;
    close(fd);
  }
  std::string where = address.ToString();
  switch (err) {
    case EADDRINUSE:
      return absl::FailedPreconditionError(absl::StrFormat(
          "metrics listen address %s is already in use; stop the process listening there or "
          "choose another --metrics-listen",
          where));
    case EACCES:
      return absl::FailedPreconditionError(absl::StrFormat(
          "no permission to listen on %s; use a port above 1023 in --metrics-listen", where));
    case EADDRNOTAVAIL:
      return absl::FailedPreconditionError(absl::StrFormat(
          "metrics listen address %s is not an address of this host; use 0.0.0.0 or one of its "
          "addresses in --metrics-listen",
          where));
    default:
      return absl::FailedPreconditionError(
          absl::StrFormat("cannot listen on %s for metrics: %s", where, detail));
  }
}

}  // namespace

std::string ListenAddress::ToString() const {
  return ipv6 ? absl::StrFormat("[%s]:%d", host, port) : absl::StrFormat("%s:%d", host, port);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid --metrics-listen \"%s\": %s; expected ADDR:PORT, %s", text, why, kExample));
  };
  ListenAddress out;
  absl::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid("an IPv6 address needs the form [ADDR]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    out.ipv6 = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) return invalid("no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) {
      return invalid("put an IPv6 address in brackets");
    }
  }
  if (host.empty()) return invalid("no address");
  if (host == "localhost") host = "127.0.0.1";
  unsigned char buf[sizeof(in6_addr)];
  std::string host_str(host);
  if (inet_pton(out.ipv6 ? AF_INET6 : AF_INET, host_str.c_str(), buf) != 1) {
    return invalid(
        absl::StrFormat("\"%s\" is not a numeric %s address", host, out.ipv6 ? "IPv6" : "IPv4"));
  }
  int port_value = -1;
  if (port.empty() || port.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port, &port_value) || port_value > 65535) {
    return invalid(absl::StrFormat("\"%s\" is not a port number (0-65535)", port));
  }
  out.host = std::move(host_str);
  out.port = port_value;
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const MetricsServerOptions& options, prometheus::Registry& registry, AgentMetrics& metrics) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->listen_ = *address;
  server->metrics_handler_ = std::make_unique<MetricsHandler>(registry, metrics);
  server->health_handler_ = std::make_unique<HealthHandler>(metrics, options.stall_threshold);

  CivetCallbacks callbacks;
  // civetweb would print its own errors to stderr; ours come back as a status instead.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  std::vector<std::string> civet_options = {
      "listening_ports",    address->ToString(),
      "num_threads",        absl::StrCat(options.threads > 0 ? options.threads : 2),
      "request_timeout_ms", "10000"};
  try {
    server->server_ = std::make_unique<CivetServer>(civet_options, &callbacks);
  } catch (const std::exception& e) {
    return DiagnoseListenFailure(*address, e.what());
  }
  server->server_->addHandler("/metrics", server->metrics_handler_.get());
  server->server_->addHandler("/healthz", server->health_handler_.get());
  std::vector<int> ports = server->server_->getListeningPorts();
  if (ports.empty()) {
    return absl::InternalError(
        absl::StrFormat("metrics server on %s reports no listening port", address->ToString()));
  }
  server->port_ = ports.front();
  return server;
}

MetricsServer::~MetricsServer() {
  if (server_ != nullptr) server_->close();
  server_.reset();
}

std::string MetricsServer::address() const {
  ListenAddress bound = listen_;
  bound.port = port_;
  return bound.ToString();
}

}  // namespace walship::agent
