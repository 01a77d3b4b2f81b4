// The fixture of TransactionAssembler's tests: an assembler over a scratch spill directory,
// fed messages that must or must not complete a transaction.
#ifndef WALSHIP_TESTS_AGENT_STREAM_TRANSACTION_ASSEMBLER_FIXTURE_H_
#define WALSHIP_TESTS_AGENT_STREAM_TRANSACTION_ASSEMBLER_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "agent/pg/pgoutput_messages.h"
#include "agent/stream/transaction_assembler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/transaction.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace walship::agent {

using ::walship::testing::IsOk;

inline constexpr uint32_t kAccounts = 16384;
inline constexpr uint32_t kOrders = 16390;
inline constexpr int64_t kTime = 1700000000123456;

class TransactionAssemblerTest : public ::testing::Test {
 protected:
  explicit TransactionAssemblerTest(uint64_t memory_limit = 8ull << 20)
      : assembler_(AssemblerOptions{dir_.path(), memory_limit}) {}

  // Feeds a message that must not complete a transaction.
  void Feed(PgOutputMessage message) {
    auto result = assembler_.Feed(std::move(message));
    ASSERT_THAT(result, IsOk());
    ASSERT_EQ(*result, nullptr);
  }
  // Feeds the message that must complete a transaction.
  std::unique_ptr<proto::Transaction> Complete(PgOutputMessage message) {
    auto result = assembler_.Feed(std::move(message));
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return nullptr;
    EXPECT_NE(*result, nullptr);
    return std::move(*result);
  }

  ::walship::testing::TempDir dir_;
  TransactionAssembler assembler_;
};

}  // namespace walship::agent

#endif  // WALSHIP_TESTS_AGENT_STREAM_TRANSACTION_ASSEMBLER_FIXTURE_H_
