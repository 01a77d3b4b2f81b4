// The Kafka sink against the mock Kafka cluster in its own process (3 brokers, real protocol
// on loopback TCP). What the brokers hold is read back with kcat, an independent client, and
// every value is decoded by `protoc --decode` against proto/walship.proto alone.
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

// ---- building transactions -----------------------------------------------------------

v1::Relation MakeRelation(uint32_t oid, const std::string& schema, const std::string& table) {
  v1::Relation relation;
  relation.set_oid(oid);
  relation.set_schema(schema);
  relation.set_table(table);
  relation.set_replica_identity(v1::REPLICA_IDENTITY_DEFAULT);
  auto add = [&](const char* name, uint32_t type_oid, const char* type, bool key) {
    v1::Column* column = relation.add_columns();
    column->set_name(name);
    column->set_type_oid(type_oid);
    column->set_type_name(type);
    column->set_type_modifier(-1);
    column->set_key(key);
  };
  add("id", 20, "int8", true);
  add("name", 25, "text", false);
  return relation;
}

v1::Row MakeRow(const std::string& id, const std::string& name) {
  v1::Row row;
  row.add_values()->set_text(id);
  row.add_values()->set_text(name);
  return row;
}

// Builds one transaction: RelationDef records before the first event of each relation,
// events carrying only the relation OID (as the agent's assembler does).
class TxnBuilder {
 public:
  TxnBuilder(uint32_t xid, uint64_t commit_lsn) {
    info_.xid = Xid(xid);
    info_.commit_lsn = Lsn(commit_lsn);
    info_.end_lsn = Lsn(commit_lsn + 0x30);
    info_.commit_time_us = 1700000000000000 + commit_lsn;
  }
  v1::Event& Add(v1::Operation op, const v1::Relation* relation) {
    if (relation != nullptr && described_.insert(relation->oid()).second) {
      v1::Record def;
      *def.mutable_relation_def() = *relation;
      records_.push_back(def);
    }
    v1::Record record;
    v1::Event* event = record.mutable_event();
    event->set_commit_lsn(info_.commit_lsn.value());
    event->set_sequence(++sequence_);
    event->set_xid(info_.xid.value());
    event->set_commit_time_us(info_.commit_time_us);
    event->set_end_lsn(info_.end_lsn.value());
    event->set_op(op);
    if (relation != nullptr) event->mutable_relation()->set_oid(relation->oid());
    records_.push_back(record);
    return *records_.back().mutable_event();
  }
  void Insert(const v1::Relation& r, const std::string& id, const std::string& name) {
    *Add(v1::INSERT, &r).mutable_new_row() = MakeRow(id, name);
  }
  void Update(const v1::Relation& r, const std::string& id, const std::string& name) {
    *Add(v1::UPDATE, &r).mutable_new_row() = MakeRow(id, name);
  }
  // UPDATE ... SET id = new_id: the server sends the old key ('K').
  void UpdateKey(const v1::Relation& r, const std::string& old_id, const std::string& new_id,
                 const std::string& name) {
    v1::Event& event = Add(v1::UPDATE, &r);
    *event.mutable_old_row() = MakeRow(old_id, "");
    event.mutable_old_row()->mutable_values(1)->set_null(true);
    event.set_old_is_key_only(true);
    *event.mutable_new_row() = MakeRow(new_id, name);
  }
  void Delete(const v1::Relation& r, const std::string& id) {
    v1::Event& event = Add(v1::DELETE, &r);
    *event.mutable_old_row() = MakeRow(id, "");
    event.mutable_old_row()->mutable_values(1)->set_null(true);
    event.set_old_is_key_only(true);
  }
  proto::InMemoryTransaction Build() {
    info_.event_count = sequence_;
    return proto::InMemoryTransaction(info_, records_);
  }

 private:
  proto::TransactionInfo info_;
  std::vector<v1::Record> records_;
  std::set<uint32_t> described_;
  uint32_t sequence_ = 0;
};

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

KafkaSinkOptions Options(const KafkaMockCluster& kafka) {
  KafkaSinkOptions options;
  options.bootstrap_servers = kafka.bootstrap();
  options.topic_prefix = "crm";
  options.delivery_timeout = absl::Seconds(60);
  return options;
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

TEST(KafkaSinkIntegration, BrokerOutageHoldsWatermarkAndLosesNothing) {
  ASSERT_OK_AND_ASSIGN(
      auto kafka, KafkaMockCluster::Start(3, {"crm.public.deals:3:3", "crm.transactions:3:3"}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(Options(*kafka)));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  int next_id = 0;
  auto write = [&](uint32_t xid, uint64_t lsn) {
    TxnBuilder b(xid, lsn);
    for (int i = 0; i < 20; ++i) b.Insert(deals, absl::StrCat(++next_id), "row");
    proto::InMemoryTransaction txn = b.Build();
    return sink->Write(txn);
  };
  ASSERT_OK(write(800, 0x10000));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();
  ASSERT_EQ(before, Lsn(0x10030));

  for (int id = 1; id <= 3; ++id) {
    auto rc = kafka->Command(absl::StrCat("down ", id));
    ASSERT_OK(rc.status());
    ASSERT_EQ(*rc, 0);
  }
  for (int i = 1; i <= 10; ++i) ASSERT_OK(write(800 + i, 0x10000 + i * 0x1000));
  absl::Time until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    ASSERT_OK(sink->Poll(absl::Now()));
    EXPECT_EQ(sink->DurableWatermark(), before) << "watermark moved while every broker was down";
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(sink->HasPending());
  EXPECT_LT(sink->NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(sink->Flush(absl::Now() + absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(sink->DurableWatermark(), before);

  for (int id = 1; id <= 3; ++id) {
    auto rc = kafka->Command(absl::StrCat("up ", id));
    ASSERT_OK(rc.status());
    ASSERT_EQ(*rc, 0);
  }
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(45)));
  EXPECT_EQ(sink->DurableWatermark(), Lsn(0x10000 + 10 * 0x1000 + 0x30));
  EXPECT_FALSE(sink->HasPending());

  // Count what the brokers hold, with kcat: every row once.
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> messages,
                       KcatConsume(kafka->bootstrap(), "crm.public.deals"));
  std::set<std::string> positions;
  for (const ConsumedMessage& m : messages) {
    v1::Event event;
    ASSERT_TRUE(event.ParseFromString(m.value.value_or("")));
    positions.insert(absl::StrFormat("%016X:%u", event.commit_lsn(), event.sequence()));
  }
  EXPECT_EQ(messages.size(), 11u * 20u);
  EXPECT_EQ(positions.size(), 11u * 20u);
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> markers,
                       KcatConsume(kafka->bootstrap(), "crm.transactions"));
  EXPECT_EQ(markers.size(), 22u);
  ASSERT_OK(sink->Close(absl::Now() + absl::Seconds(10)));
}

TEST(KafkaSinkIntegration, MessageLargerThanMaxBytesIsStickyAndNotAcknowledged) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  KafkaSinkOptions options = Options(*kafka);
  options.settings = {"message.max.bytes=10000"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  TxnBuilder small(900, 0x5000);
  small.Insert(deals, "1", "small");
  ASSERT_OK(sink->Write(small.Build()));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();
  EXPECT_EQ(before, Lsn(0x5030));

  TxnBuilder big(901, 0x6000);
  big.Insert(deals, "2", std::string(20000, 'y'));
  absl::Status status = sink->Write(big.Build());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(status.message(), HasSubstr("\"crm.public.deals\""));
  EXPECT_THAT(status.message(), HasSubstr("MSG_SIZE_TOO_LARGE"));
  // Sticky: every later call returns it, the watermark stays.
  EXPECT_EQ(sink->Poll(absl::Now()), status);
  EXPECT_EQ(sink->Flush(absl::Now() + absl::Seconds(5)), status);
  TxnBuilder after(902, 0x7000);
  after.Insert(deals, "3", "small");
  EXPECT_EQ(sink->Write(after.Build()), status);
  EXPECT_EQ(sink->DurableWatermark(), before);
  EXPECT_EQ(sink->Close(absl::Now() + absl::Seconds(5)), status);
}

TEST(KafkaSinkIntegration, TopicAuthorizationFailureIsClearAndNotAcknowledged) {
  ASSERT_OK_AND_ASSIGN(
      auto kafka, KafkaMockCluster::Start(3, {"crm.public.deals:1:3", "crm.transactions:1:3"}));
  KafkaSinkOptions options = Options(*kafka);
  // The mock acknowledges failed batches falsely with several requests in flight.
  options.settings = {"max.in.flight.requests.per.connection=1"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  TxnBuilder first(950, 0x8000);
  first.Insert(deals, "1", "ok");
  ASSERT_OK(sink->Write(first.Build()));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();

  ASSERT_OK_AND_ASSIGN(int rc, kafka->Command("err 0 29 29 29 29 29 29 29 29"));
  EXPECT_EQ(rc, 0);
  TxnBuilder second(951, 0x9000);
  second.Insert(deals, "2", "denied");
  absl::Status status = sink->Write(second.Build());
  if (status.ok()) status = sink->Flush(absl::Now() + absl::Seconds(30));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(status.message(), HasSubstr("TOPIC_AUTHORIZATION_FAILED"));
  EXPECT_THAT(status.message(), ::testing::AnyOf(HasSubstr("\"crm.public.deals\""),
                                                 HasSubstr("\"crm.transactions\"")));
  EXPECT_EQ(sink->DurableWatermark(), before);
  EXPECT_EQ(sink->Poll(absl::Now()), status);
}

TEST(KafkaSinkIntegration, FatalIdempotenceErrorIsAborted) {
  ASSERT_OK_AND_ASSIGN(
      auto kafka, KafkaMockCluster::Start(3, {"crm.public.deals:1:3", "crm.transactions:1:3"}));
  KafkaSinkOptions options = Options(*kafka);
  options.settings = {"max.in.flight.requests.per.connection=1"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  TxnBuilder first(960, 0xA000);
  first.Insert(deals, "1", "ok");
  ASSERT_OK(sink->Write(first.Build()));
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  const Lsn before = sink->DurableWatermark();

  // OUT_OF_ORDER_SEQUENCE_NUMBER: the idempotent producer can no longer keep order.
  ASSERT_OK_AND_ASSIGN(int rc, kafka->Command("err 0 45"));
  EXPECT_EQ(rc, 0);
  TxnBuilder second(961, 0xB000);
  second.Insert(deals, "2", "lost order");
  absl::Status status = sink->Write(second.Build());
  if (status.ok()) status = sink->Flush(absl::Now() + absl::Seconds(30));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(status.message(), HasSubstr("fatal"));
  EXPECT_EQ(sink->DurableWatermark(), before);
  EXPECT_EQ(sink->Poll(absl::Now()), status);
}

TEST(KafkaSinkIntegration, SmallBufferBoundStillDeliversEverything) {
  ASSERT_OK_AND_ASSIGN(auto kafka, KafkaMockCluster::Start(3));
  KafkaSinkOptions options = Options(*kafka);
  options.max_buffered_bytes = 1;  // every message waits for the one before it
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Sink> sink, OpenKafkaSink(options));
  const v1::Relation deals = MakeRelation(16400, "public", "deals");
  for (int t = 0; t < 5; ++t) {
    TxnBuilder b(970 + t, 0xC000 + t * 0x100);
    for (int i = 0; i < 4; ++i) b.Insert(deals, absl::StrCat(t * 10 + i), "row");
    ASSERT_OK(sink->Write(b.Build()));
    // Write() waited for each earlier message before producing the next, so the
    // transaction before this one is durable already.
    if (t > 0) {
      EXPECT_GE(sink->DurableWatermark(), Lsn(0xC000 + (t - 1) * 0x100 + 0x30));
    }
  }
  ASSERT_OK(sink->Flush(absl::Now() + absl::Seconds(30)));
  EXPECT_EQ(sink->DurableWatermark(), Lsn(0xC000 + 4 * 0x100 + 0x30));
  ASSERT_OK_AND_ASSIGN(std::vector<ConsumedMessage> messages,
                       KcatConsume(kafka->bootstrap(), "crm.public.deals"));
  EXPECT_EQ(messages.size(), 20u);
}

TEST(KafkaSinkIntegration, UnreachableBootstrapIsUnavailable) {
  KafkaSinkOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.topic_prefix = "crm";
  options.connect_timeout = absl::Seconds(2);
  auto sink = OpenKafkaSink(options);
  EXPECT_THAT(sink.status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sink.status().message(), HasSubstr("127.0.0.1:1"));
}

TEST(KafkaSinkIntegration, BadSettingsAreRefusedBeforeConnecting) {
  KafkaSinkOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.topic_prefix = "crm";
  options.settings = {"no.such.setting=1"};
  EXPECT_THAT(OpenKafkaSink(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  options.settings = {"sasl.password=hunter2"};
  auto secret = OpenKafkaSink(options);
  EXPECT_THAT(secret.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(secret.status().message(), ::testing::Not(HasSubstr("hunter2")));
  options.settings = {};
  options.properties_file = "/nonexistent/kafka.properties";
  EXPECT_THAT(OpenKafkaSink(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace walship::testing
