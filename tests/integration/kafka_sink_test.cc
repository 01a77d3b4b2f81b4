// The Kafka sink against the mock Kafka cluster in its own process (3 brokers, real protocol
// on loopback TCP). What the brokers hold is read back with kcat, an independent client, and
// every value is decoded by `protoc --decode` against proto/walship.proto alone. The sink's
// failures (outages, limits, refusals) are tested in kafka_sink_failure_test.cc.
#include "sinks/kafka/kafka_sink.h"

#include <google/protobuf/text_format.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/transaction.h"
#include "tests/integration/kafka_sink_test_util.h"
#include "tests/testing/kafka_mock.h"
#include "tests/testing/kcat.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

using sinks::KafkaSinkOptions;
using sinks::OpenKafkaSink;
using sinks::Sink;
using ::testing::HasSubstr;

// ---- reading back with kcat ----------------------------------------------------------

// `protoc --decode=walship.v1.<type>` of `bytes`, in a separate process, with nothing but
// proto/walship.proto.
absl::StatusOr<std::string> ProtocDecode(const std::string& type, const std::string& bytes) {
  auto result = Subprocess::Run({"protoc", absl::StrCat("--decode=walship.v1.", type), "-I",
                                 WALSHIP_PROTO_DIR, "walship.proto"},
                                absl::Seconds(60), {}, bytes);
  if (!result.ok()) return result.status();
  if (!result->ok()) return absl::InternalError(absl::StrCat("protoc: ", result->stderr_text));
  return result->stdout_text;
}

std::string TextOf(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(message, &text);
  return text;
}

std::string KeyOf(const v1::Relation& relation, const v1::Row& row) {
  v1::RowKey key;
  *key.add_columns() = relation.columns(0);
  *key.add_values() = row.values(0);
  return key.SerializeAsString();
}

// Three transactions over two tables (one name needing escapes): inserts, updates, a
// delete, a transactional logical message, an update that changes the key, a TRUNCATE.
std::vector<proto::InMemoryTransaction> ThreeTransactions(const v1::Relation& deals,
                                                          const v1::Relation& notes) {
  std::vector<proto::InMemoryTransaction> txns;
  {
    TxnBuilder b(700, 0x1000);
    for (int i = 1; i <= 6; ++i) b.Insert(deals, absl::StrCat(i), absl::StrCat("deal ", i));
    b.Insert(notes, "1", "first note");
    txns.push_back(b.Build());
  }
  {
    TxnBuilder b(701, 0x2000);
    for (int i = 1; i <= 6; ++i) b.Update(deals, absl::StrCat(i), absl::StrCat("deal ", i, " v2"));
    b.Delete(deals, "6");
    v1::Event& mark = b.Add(v1::MESSAGE, nullptr);
    mark.mutable_message()->set_prefix("walship");
    mark.mutable_message()->set_content("mark:after-v2");
    mark.mutable_message()->set_transactional(true);
    txns.push_back(b.Build());
  }
  {
    TxnBuilder b(702, 0x3000);
    for (int i = 1; i <= 5; ++i)
      b.Update(deals, absl::StrCat(i), absl::StrCat("deal ", i, " v3 ", std::string(i * 100, 'x')));
    b.UpdateKey(deals, "5", "50", "deal 5 renumbered");
    v1::Event& truncate = b.Add(v1::TRUNCATE, &notes);
    truncate.mutable_truncate()->add_relations()->set_oid(notes.oid());
    txns.push_back(b.Build());
  }
  return txns;
}

// What each topic must hold, in order per key: the events with their full relation.
std::map<std::string, std::vector<v1::Event>> ExpectedPerTopic(
    const std::vector<proto::InMemoryTransaction>& txns, const v1::Relation& deals,
    const v1::Relation& notes) {
  std::map<std::string, std::vector<v1::Event>> expected;
  std::map<uint32_t, const v1::Relation*> by_oid = {{deals.oid(), &deals}, {notes.oid(), &notes}};
  for (const auto& txn : txns) {
    for (const v1::Record& record : txn.records()) {
      if (!record.has_event()) continue;
      v1::Event event = record.event();
      if (event.op() == v1::MESSAGE) {
        expected["crm.messages"].push_back(event);
        continue;
      }
      const v1::Relation& relation = *by_oid.at(event.relation().oid());
      *event.mutable_relation() = relation;
      if (event.op() == v1::TRUNCATE) *event.mutable_truncate()->mutable_relations(0) = relation;
      expected[relation.table() == "deals" ? "crm.public.deals" : "crm.sales_dept.Notes_"]
          .push_back(event);
    }
  }

  return expected;
}

// `topic`, read back with kcat, holds `events` byte for byte in order per key, readable with
// walship.proto alone, with their position headers and a tombstone after each key's last
// value when it is gone; `consumed` is the number of values (tombstones excluded).
void ExpectTopicHolds(const KafkaMockCluster& kafka, const std::string& topic,
                      const std::vector<v1::Event>& events, uint64_t* consumed) {
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> messages,
                       KcatConsume(kafka.bootstrap(), topic));
  // Per key (null key: its own group), in partition offset order.
  std::map<std::string, std::vector<const ConsumedMessage*>> by_key;
  std::map<int, int64_t> last_offset;
  int tombstones = 0;
  std::map<std::string, const ConsumedMessage*> tombstone_by_key;
  for (const ConsumedMessage& m : messages) {
    if (!m.value.has_value()) {
      ++tombstones;
      EXPECT_THAT(m.headers, HasSubstr("walship.op=TOMBSTONE"));
      EXPECT_TRUE(m.key.has_value());
      tombstone_by_key[m.key.value_or("")] = &m;
      continue;
    }
    by_key[m.key.value_or("<null>")].push_back(&m);
  }
  uint64_t values = messages.size() - tombstones;
  *consumed = values;
  ASSERT_EQ(values, events.size()) << topic;
  std::map<std::string, size_t> next;  // per key: index into by_key
  for (const v1::Event& event : events) {
    std::string key = "<null>";
    if (topic == "crm.messages") {
      key = event.message().prefix();
    } else if (event.op() != v1::TRUNCATE) {
      key = KeyOf(event.relation(), event.op() == v1::DELETE ? event.old_row() : event.new_row());
    }
    auto& list = by_key[key];
    size_t& i = next[key];
    ASSERT_LT(i, list.size()) << topic << " lacks event " << event.sequence();
    const ConsumedMessage& m = *list[i++];
    // Byte for byte, and readable with nothing but walship.proto.
    EXPECT_EQ(*m.value, event.SerializeAsString()) << topic << " position " << event.sequence();
    ASSERT_OK_AND_ASSIGN(std::string decoded, ProtocDecode("Event", *m.value));
    EXPECT_EQ(decoded, TextOf(event));
    EXPECT_THAT(m.headers, HasSubstr(absl::StrFormat("walship.position=%016X:%u",
                                                     event.commit_lsn(), event.sequence())));
    EXPECT_THAT(m.headers, HasSubstr(absl::StrCat("walship.xid=", event.xid())));
    // A delete, and an update that moved the row to another key, leave a tombstone
    // under the key the row had, after every value under it.
    std::optional<std::string> gone;
    if (event.op() == v1::DELETE) gone = key;
    if (event.op() == v1::UPDATE && event.has_old_row()) {
      gone = KeyOf(event.relation(), event.old_row());
    }
    if (gone.has_value()) {
      ++tombstones;
      auto tombstone = tombstone_by_key.find(*gone);
      ASSERT_NE(tombstone, tombstone_by_key.end()) << topic << " " << event.sequence();
      for (const ConsumedMessage* value : by_key[*gone]) {
        EXPECT_EQ(value->partition, tombstone->second->partition);
        EXPECT_LT(value->offset, tombstone->second->offset);
      }
    }
  }
  EXPECT_EQ(tombstones, topic == "crm.public.deals" ? 4 : 0) << topic;
}

// The transactions topic: BEGIN and END per transaction; END's counts match what the
// table topics hold.
void ExpectTransactionMarkers(const KafkaMockCluster& kafka,
                              const std::vector<proto::InMemoryTransaction>& txns,
                              const std::map<std::string, uint64_t>& consumed_counts) {
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> markers,
                       KcatConsume(kafka.bootstrap(), "crm.transactions"));
  ASSERT_EQ(markers.size(), 2 * txns.size());
  std::map<std::string, uint64_t> end_counts;
  std::map<uint32_t, std::vector<v1::TransactionMarker::Kind>> kinds;
  for (const ConsumedMessage& m : markers) {
    ASSERT_TRUE(m.value.has_value());
    v1::TransactionMarker marker;
    ASSERT_TRUE(marker.ParseFromString(*m.value));
    ASSERT_OK_AND_ASSIGN(std::string decoded, ProtocDecode("TransactionMarker", *m.value));
    EXPECT_EQ(decoded, TextOf(marker));
    EXPECT_EQ(m.key, absl::StrCat(marker.xid()));
    kinds[marker.xid()].push_back(marker.kind());
    if (marker.kind() == v1::TransactionMarker::END) {
      for (const auto& [topic, count] : marker.per_table_counts()) end_counts[topic] += count;
    }
  }
  for (const auto& txn : txns) {
    EXPECT_THAT(kinds[txn.info().xid.value()],
                ::testing::ElementsAre(v1::TransactionMarker::BEGIN, v1::TransactionMarker::END));
  }
  EXPECT_EQ(end_counts, consumed_counts);
}

// ---- tests ---------------------------------------------------------------------------

TEST(KafkaSinkIntegration, EveryEventArrivesSelfDescribingAndInKeyOrder) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  KafkaSinkOptions options = Options(*kafka);
  options.tombstones_on_delete = true;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));

  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  const v1::Relation notes = MakeRelation(16410, "sales dept", "Notes$");
  std::vector<proto::InMemoryTransaction> txns = ThreeTransactions(deals, notes);
  for (const auto& txn : txns) ASSERT_OK(sink->Write(txn));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  EXPECT_EQ(sink->DurableWatermark(), txns.back().info().end_lsn);
  EXPECT_FALSE(sink->HasPending());

  std::map<std::string, uint64_t> consumed_counts;  // per topic, tombstones excluded
  for (const auto& [topic, events] : ExpectedPerTopic(txns, deals, notes)) {
    ASSERT_NO_FATAL_FAILURE(ExpectTopicHolds(*kafka, topic, events, &consumed_counts[topic]));
  }
  ExpectTransactionMarkers(*kafka, txns, consumed_counts);
  ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(10)));
}

}  // namespace
}  // namespace walship::testing
