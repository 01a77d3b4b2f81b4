// Tests of the Kafka sink's contiguous durable watermark.
#include "sinks/kafka/delivery_tracker.h"

#include "gtest/gtest.h"

namespace walship::sinks::kafka {
namespace {

TEST(DeliveryTracker, StartsInvalidAndIdle) {
  DeliveryTracker tracker;
  EXPECT_EQ(tracker.watermark(), Lsn::Invalid());
  EXPECT_FALSE(tracker.HasPending());
}

TEST(DeliveryTracker, TransactionIsDurableWhenSealedAndEveryMessageDelivered) {
  DeliveryTracker tracker;
  auto t = tracker.Begin(Lsn(100));
  tracker.AddMessage(t);
  tracker.AddMessage(t);
  tracker.Delivered(t, true);
  tracker.Delivered(t, true);
  EXPECT_EQ(tracker.watermark(), Lsn::Invalid()) << "not sealed yet";
  EXPECT_TRUE(tracker.HasPending());
  tracker.Seal(t);
  EXPECT_EQ(tracker.watermark(), Lsn(100));
  EXPECT_FALSE(tracker.HasPending());
  EXPECT_EQ(tracker.outstanding(), 0u);
}

TEST(DeliveryTracker, WatermarkAdvancesContiguouslyWhenReportsArriveOutOfOrder) {
  DeliveryTracker tracker;
  auto a = tracker.Begin(Lsn(100));
  tracker.AddMessage(a);
  tracker.Seal(a);
  auto b = tracker.Begin(Lsn(200));
  tracker.AddMessage(b);
  tracker.Seal(b);
  auto c = tracker.Begin(Lsn(300));
  tracker.AddMessage(c);
  tracker.Seal(c);
  tracker.Delivered(c, true);
  tracker.Delivered(b, true);
  EXPECT_EQ(tracker.watermark(), Lsn::Invalid());
  EXPECT_EQ(tracker.outstanding(), 1u);
  tracker.Delivered(a, true);
  EXPECT_EQ(tracker.watermark(), Lsn(300));
}

TEST(DeliveryTracker, FailedDeliveryPinsTheWatermarkBelowThatTransaction) {
  DeliveryTracker tracker;
  auto a = tracker.Begin(Lsn(100));
  tracker.AddMessage(a);
  tracker.Seal(a);
  auto b = tracker.Begin(Lsn(200));
  tracker.AddMessage(b);
  tracker.AddMessage(b);
  tracker.Seal(b);
  auto c = tracker.Begin(Lsn(300));
  tracker.AddMessage(c);
  tracker.Seal(c);
  tracker.Delivered(a, true);
  tracker.Delivered(b, false);
  tracker.Delivered(b, true);
  tracker.Delivered(c, true);
  EXPECT_EQ(tracker.watermark(), Lsn(100));
  EXPECT_TRUE(tracker.HasPending());
}

TEST(DeliveryTracker, UnknownTicketsAndExtraReportsAreIgnored) {
  DeliveryTracker tracker;
  auto a = tracker.Begin(Lsn(100));
  tracker.AddMessage(a);
  tracker.Seal(a);
  tracker.Delivered(a + 5, true);
  EXPECT_EQ(tracker.watermark(), Lsn::Invalid());
  tracker.Delivered(a, true);
  tracker.Delivered(a, false);  // already settled and retired
  EXPECT_EQ(tracker.watermark(), Lsn(100));
  auto b = tracker.Begin(Lsn(200));
  EXPECT_EQ(b, a + 1);
  tracker.Seal(b);
  EXPECT_EQ(tracker.watermark(), Lsn(200)) << "a transaction with no messages is durable";
}

}  // namespace
}  // namespace walship::sinks::kafka
