// The probe that ignores retries.
#include "sinks/object_store/retry_probe.h"

namespace walship::sinks {
namespace {

class NoOpRetryProbe final : public RetryProbe {
 public:
  void OnRetry(absl::string_view, absl::string_view) override {}
};

}  // namespace

RetryProbe& NoRetryProbe() {
  static NoOpRetryProbe* probe = new NoOpRetryProbe();  // stateless, never destroyed
  return *probe;
}

}  // namespace walship::sinks
