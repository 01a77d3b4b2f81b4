// FeedbackTracker: what may be acknowledged to PostgreSQL, and when status updates are due.
#include "agent/stream/feedback_tracker.h"

#include <random>

#include "gtest/gtest.h"

namespace walship::agent {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(FeedbackTracker, StartsAtTheConfirmedPosition) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  EXPECT_EQ(tracker.flushed(), Lsn(0x100));
  EXPECT_EQ(tracker.written(), Lsn(0x100));
  EXPECT_EQ(tracker.last_handed(), Lsn(0x100));
  EXPECT_FALSE(tracker.HasInFlight());
}

TEST(FeedbackTracker, FlushAdvancesOnlyOverContiguousDurableTransactions) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnTransaction(Lsn(0x200), false);
  tracker.OnTransaction(Lsn(0x300), false);
  tracker.OnTransaction(Lsn(0x400), false);
  EXPECT_EQ(tracker.last_handed(), Lsn(0x400));
  EXPECT_EQ(tracker.flushed(), Lsn(0x100));

  tracker.OnDurable(Lsn(0x200));
  EXPECT_EQ(tracker.flushed(), Lsn(0x200));
  // A watermark between two transactions' ends confirms only the earlier one.
  tracker.OnDurable(Lsn(0x2ff));
  EXPECT_EQ(tracker.flushed(), Lsn(0x200));
  tracker.OnDurable(Lsn(0x300));
  EXPECT_EQ(tracker.flushed(), Lsn(0x300));
  EXPECT_TRUE(tracker.HasInFlight());
  tracker.OnDurable(Lsn(0x400));
  EXPECT_EQ(tracker.flushed(), Lsn(0x400));
  EXPECT_FALSE(tracker.HasInFlight());
}

TEST(FeedbackTracker, WatermarkJumpConfirmsEndOfNewestCoveredTransaction) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnTransaction(Lsn(0x200), false);
  tracker.OnTransaction(Lsn(0x300), false);
  tracker.OnTransaction(Lsn(0x400), false);
  // Sinks completed out of order and report one jump past the last two.
  tracker.OnDurable(Lsn(0x350));
  EXPECT_EQ(tracker.flushed(), Lsn(0x300));
  // Far beyond everything handed: the flush stops at the newest handed end, not the mark.
  tracker.OnDurable(Lsn(0x10000));
  EXPECT_EQ(tracker.flushed(), Lsn(0x400));
  EXPECT_FALSE(tracker.HasInFlight());
}

TEST(FeedbackTracker, WatermarkNeverMovesBackwards) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnTransaction(Lsn(0x200), false);
  tracker.OnDurable(Lsn(0x200));
  // A sink that restarts and reports less must not un-confirm anything.
  tracker.OnDurable(Lsn(0x150));
  EXPECT_EQ(tracker.flushed(), Lsn(0x200));
  tracker.OnTransaction(Lsn(0x300), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x200));
  EXPECT_TRUE(tracker.HasInFlight());
}

TEST(FeedbackTracker, TransactionAlreadyCoveredByWatermarkFlushesAtOnce) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  // The sinks already hold everything up to 0x500 (a restart after a crash before the ack).
  tracker.OnDurable(Lsn(0x500));
  tracker.OnTransaction(Lsn(0x400), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x400));
  EXPECT_FALSE(tracker.HasInFlight());
}

TEST(FeedbackTracker, EmptyTransactionWaitsForEarlierInFlightOnes) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnTransaction(Lsn(0x200), false);
  tracker.OnTransaction(Lsn(0x300), true);
  EXPECT_EQ(tracker.flushed(), Lsn(0x100));
  EXPECT_TRUE(tracker.HasInFlight());
  tracker.OnDurable(Lsn(0x200));
  // The empty transaction needs no sink: it is confirmed with the one before it.
  EXPECT_EQ(tracker.flushed(), Lsn(0x300));
  EXPECT_FALSE(tracker.HasInFlight());
}

TEST(FeedbackTracker, EmptyTransactionBetweenTwoWaitsForBoth) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnTransaction(Lsn(0x200), false);
  tracker.OnTransaction(Lsn(0x300), true);
  tracker.OnTransaction(Lsn(0x400), false);
  tracker.OnDurable(Lsn(0x200));
  EXPECT_EQ(tracker.flushed(), Lsn(0x300));
  EXPECT_TRUE(tracker.HasInFlight());
  tracker.OnDurable(Lsn(0x400));
  EXPECT_EQ(tracker.flushed(), Lsn(0x400));
}

TEST(FeedbackTracker, EmptyTransactionWithNothingInFlightFlushesAtOnce) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnTransaction(Lsn(0x200), true);
  EXPECT_EQ(tracker.flushed(), Lsn(0x200));
  EXPECT_FALSE(tracker.HasInFlight());
}

TEST(FeedbackTracker, KeepaliveConfirmsServerPositionWhenIdle) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnKeepalive(Lsn(0x900), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x900));
  // Never backwards.
  tracker.OnKeepalive(Lsn(0x800), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x900));
}

TEST(FeedbackTracker, KeepaliveIgnoredInsideOpenTransaction) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnKeepalive(Lsn(0x900), true);
  EXPECT_EQ(tracker.flushed(), Lsn(0x100));
}

TEST(FeedbackTracker, KeepaliveIgnoredWhileTransactionsInFlight) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnTransaction(Lsn(0x200), false);
  tracker.OnKeepalive(Lsn(0x900), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x100));
  tracker.OnDurable(Lsn(0x200));
  EXPECT_EQ(tracker.flushed(), Lsn(0x200));
  // Once nothing is in flight, the next keepalive may confirm the server's position.
  tracker.OnKeepalive(Lsn(0x900), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x900));
}

TEST(FeedbackTracker, WrittenIsReceivedButNeverBelowFlushed) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.OnReceived(Lsn(0x180));
  EXPECT_EQ(tracker.written(), Lsn(0x180));
  tracker.OnReceived(Lsn(0x170));  // never backwards
  EXPECT_EQ(tracker.written(), Lsn(0x180));
  tracker.OnKeepalive(Lsn(0x900), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x900));
  EXPECT_EQ(tracker.written(), Lsn(0x900));
}

TEST(FeedbackTracker, WrittenNeverBelowFlushedUnderRandomEvents) {
  std::mt19937 rng(42);
  FeedbackTracker tracker(Lsn(0x1000), absl::Seconds(10));
  uint64_t next_end = 0x1000;
  Lsn previous_flushed = tracker.flushed();
  for (int i = 0; i < 5000; ++i) {
    switch (rng() % 4) {
      case 0:
        next_end += 1 + rng() % 0x100;
        tracker.OnReceived(Lsn(next_end - 0x10));
        tracker.OnTransaction(Lsn(next_end), rng() % 5 == 0);
        break;
      case 1: tracker.OnDurable(Lsn(next_end - rng() % 0x400)); break;
      case 2: tracker.OnKeepalive(Lsn(next_end + rng() % 0x100), rng() % 2 == 0); break;
      case 3: tracker.OnReceived(Lsn(next_end)); break;
    }
    ASSERT_GE(tracker.written(), tracker.flushed()) << "step " << i;
    ASSERT_GE(tracker.flushed(), previous_flushed) << "step " << i;
    previous_flushed = tracker.flushed();
  }
}

TEST(FeedbackTracker, FirstStatusIsDueAtOnce) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  EXPECT_TRUE(tracker.StatusDue(kT0));
  EXPECT_LE(tracker.NextStatusDeadline(), kT0);
}

TEST(FeedbackTracker, StatusDueAfterIntervalWhenNothingChanged) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10), absl::Milliseconds(10));
  tracker.OnStatusSent(kT0);
  EXPECT_FALSE(tracker.StatusDue(kT0));
  EXPECT_FALSE(tracker.StatusDue(kT0 + absl::Seconds(9)));
  EXPECT_TRUE(tracker.StatusDue(kT0 + absl::Seconds(10)));
  EXPECT_EQ(tracker.NextStatusDeadline(), kT0 + absl::Seconds(10));
  // Receiving data alone does not make a status due early.
  tracker.OnReceived(Lsn(0x500));
  EXPECT_FALSE(tracker.StatusDue(kT0 + absl::Seconds(1)));
  EXPECT_EQ(tracker.NextStatusDeadline(), kT0 + absl::Seconds(10));
}

TEST(FeedbackTracker, FlushAdvanceMakesStatusDueAfterMinimumGap) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10), absl::Milliseconds(10));
  tracker.OnStatusSent(kT0);
  tracker.OnTransaction(Lsn(0x200), false);
  EXPECT_FALSE(tracker.StatusDue(kT0 + absl::Milliseconds(20)));  // not durable yet
  tracker.OnDurable(Lsn(0x200));
  EXPECT_EQ(tracker.NextStatusDeadline(), kT0 + absl::Milliseconds(10));
  EXPECT_FALSE(tracker.StatusDue(kT0 + absl::Milliseconds(9)));
  EXPECT_TRUE(tracker.StatusDue(kT0 + absl::Milliseconds(10)));

  const absl::Time t1 = kT0 + absl::Milliseconds(15);
  tracker.OnStatusSent(t1);
  // Reported: back to the regular interval.
  EXPECT_FALSE(tracker.StatusDue(t1 + absl::Milliseconds(10)));
  EXPECT_EQ(tracker.NextStatusDeadline(), t1 + absl::Seconds(10));
}

TEST(FeedbackTracker, KeepaliveFlushMakesStatusDueAfterMinimumGap) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10), absl::Milliseconds(50));
  tracker.OnStatusSent(kT0);
  tracker.OnKeepalive(Lsn(0x900), false);
  EXPECT_EQ(tracker.NextStatusDeadline(), kT0 + absl::Milliseconds(50));
  EXPECT_FALSE(tracker.StatusDue(kT0 + absl::Milliseconds(49)));
  EXPECT_TRUE(tracker.StatusDue(kT0 + absl::Milliseconds(50)));
}

}  // namespace
}  // namespace walship::agent

namespace walship::agent {
namespace {

// Positions past the stored changes (keepalives, empty transactions) hold nothing the store
// has: with an idle limit they are confirmed only as far as the store vouches for.
TEST(FeedbackTracker, IdlePositionsAreConfirmedOnlyUpToTheIdleLimit) {
  FeedbackTracker tracker(Lsn(0x100), absl::Seconds(10));
  tracker.SetIdleLimit(Lsn(0x100));
  tracker.OnKeepalive(Lsn(0x900), false);
  EXPECT_EQ(tracker.flushed(), Lsn(0x100));
  EXPECT_EQ(tracker.PendingIdle(), Lsn(0x900));
  tracker.SetIdleLimit(Lsn(0x900));  // a heartbeat vouches for it
  EXPECT_EQ(tracker.flushed(), Lsn(0x900));
  EXPECT_FALSE(tracker.PendingIdle().valid());

  // A stored transaction moves it as always; an empty one after it waits for a vouch.
  tracker.OnTransaction(Lsn(0xA00), false);
  tracker.OnTransaction(Lsn(0xB00), true);
  tracker.OnDurable(Lsn(0xA00));
  EXPECT_EQ(tracker.flushed(), Lsn(0xA00));
  EXPECT_EQ(tracker.PendingIdle(), Lsn(0xB00));
  tracker.SetIdleLimit(Lsn(0xB00));
  EXPECT_EQ(tracker.flushed(), Lsn(0xB00));
}

}  // namespace
}  // namespace walship::agent

namespace walship::agent {
namespace {

TEST(PgDuration, ReadsWhatShowPrints) {
  EXPECT_EQ(*ParsePgDuration("60s"), absl::Seconds(60));
  EXPECT_EQ(*ParsePgDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParsePgDuration("1min"), absl::Minutes(1));
  EXPECT_EQ(*ParsePgDuration("2h"), absl::Hours(2));
  EXPECT_EQ(*ParsePgDuration("1d"), absl::Hours(24));
  EXPECT_EQ(*ParsePgDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParsePgDuration("250"), absl::Milliseconds(250));
  for (const char* bad : {"", "s", "-5s", "5 fortnights", "1.5s", "99999999999999999s"}) {
    EXPECT_FALSE(ParsePgDuration(bad).ok()) << bad;
  }
}

// Status updates alone keep the connection while the loop reads nothing: they come at least
// three times per wal_sender_timeout.
TEST(PgDuration, StatusIntervalFitsTheSenderTimeout) {
  EXPECT_EQ(StatusIntervalFor(absl::Seconds(10), absl::Seconds(60)), absl::Seconds(10));
  EXPECT_EQ(StatusIntervalFor(absl::Seconds(10), absl::Seconds(5)), absl::Seconds(5) / 3);
  EXPECT_EQ(StatusIntervalFor(absl::Seconds(10), absl::ZeroDuration()), absl::Seconds(10));
  EXPECT_EQ(StatusIntervalFor(absl::Seconds(10), absl::Milliseconds(30)),
            absl::Milliseconds(100));
}

}  // namespace
}  // namespace walship::agent
