// GoogleTest matchers for absl::Status and absl::StatusOr:
//   EXPECT_THAT(status, IsOk());  EXPECT_THAT(result, StatusIs(absl::StatusCode::kDataLoss));
//   EXPECT_THAT(result, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
//   ASSERT_OK(expr);  ASSERT_OK_AND_ASSIGN(auto value, StatusOrExpr());
#ifndef WALSHIP_TESTS_TESTING_STATUS_MATCHERS_H_
#define WALSHIP_TESTS_TESTING_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace walship::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& result) {
  return result.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status.ToString();
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) + " and a matching message") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace walship::testing

#define WALSHIP_TEST_CONCAT_INNER_(a, b) a##b
#define WALSHIP_TEST_CONCAT_(a, b) WALSHIP_TEST_CONCAT_INNER_(a, b)

// Both accept a streamed message: ASSERT_OK(DoIt()) << "while doing it";
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::walship::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::walship::testing::IsOk())

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(WALSHIP_TEST_CONCAT_(walship_statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)          \
  auto tmp = (expr);                                        \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();         \
  lhs = std::move(tmp).value()

#endif  // WALSHIP_TESTS_TESTING_STATUS_MATCHERS_H_
