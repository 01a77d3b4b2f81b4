// The fixture of the agent-to-Kafka tests: PostgreSQL with the CRM schema, the mock Kafka
// cluster (3 brokers), the shipped agent streaming to both it and a local object store, and
// the check of everything the brokers hold against the source and test_decoding.
#ifndef WALSHIP_TESTS_INTEGRATION_AGENT_KAFKA_FIXTURE_H_
#define WALSHIP_TESTS_INTEGRATION_AGENT_KAFKA_FIXTURE_H_

#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/walship.pb.h"
#include "tests/integration/agent_kafka_consumer.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/kafka_mock.h"
#include "tests/testing/kcat.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {

using ::testing::HasSubstr;

inline constexpr char kPrefix[] = "crm";
inline const std::vector<std::string> kTables = {"public.activity_log", "public.customers",
                                                 "public.deal_contacts", "public.deals"};

// ---- the fixture ---------------------------------------------------------------------

class AgentKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(pg_, PgCluster::Start());
    ASSERT_OK(pg_->CreateDatabase("crm"));
    ASSERT_OK(pg_->Psql("crm", CrmSchemaSql()).status());
    store_ = MakeTempDir("kstore");
    work_ = MakeTempDir("kwork");
    ASSERT_OK_AND_ASSIGN(kafka_, KafkaMockCluster::Start(3));
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(store_);
      std::filesystem::remove_all(work_);
    }
  }

  std::vector<std::string> AgentArgs(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--source",   pg_->ConnInfo("crm"), "--create",
                                     "--object-store", "file://" + store_, "--work-dir",
                                     work_,        "--segment-max-ms", "50",
                                     "--kafka",    kafka_->bootstrap()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Starts the agent and waits until its slot exists and it streams.
  std::unique_ptr<Subprocess> StartStreaming(const std::vector<std::string>& args,
                                             const std::string& log,
                                             std::map<std::string, std::string> env = {}) {
    auto agent = StartAgent(args, log, env);
    EXPECT_OK(agent.status());
    if (!agent.ok()) return nullptr;
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (true) {
      auto confirmed = SlotConfirmed(*pg_, "crm", "walship");
      if (confirmed.ok() && confirmed->valid()) break;
      if (absl::Now() > deadline || !(*agent)->Running()) {
        ADD_FAILURE() << "the agent did not create its slot: " << ReadFile(log);
        return nullptr;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    absl::SleepFor(absl::Milliseconds(500));
    return *std::move(agent);
  }

  // A test_decoding slot: an independent decoder of the same changes.
  void CreateReferenceSlot() {
    ASSERT_OK(pg_->Query("crm", "SELECT 'ok' FROM pg_create_logical_replication_slot("
                                "'reference', 'test_decoding')")
                  .status());
  }

  // Row changes per table and logical messages, as test_decoding saw them, keyed by topic.
  std::map<std::string, uint64_t> ReferenceCounts() {
    std::map<std::string, uint64_t> counts;
    auto text = pg_->Psql(
        "crm",
        "SELECT coalesce(substring(data from '^table ([^:]+): (?:INSERT|UPDATE|DELETE|TRUNCATE):'),"
        " 'messages'), count(*) FROM pg_logical_slot_peek_changes('reference', NULL, NULL) "
        "WHERE data ~ '^table [^:]+: (INSERT|UPDATE|DELETE|TRUNCATE):' OR data ~ '^message:' "
        "GROUP BY 1 ORDER BY 1");
    EXPECT_OK(text.status());
    if (!text.ok()) return counts;
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      std::vector<std::string> parts = absl::StrSplit(line, '|');
      uint64_t n = 0;
      EXPECT_EQ(parts.size(), 2u);
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &n)) continue;
      counts[absl::StrCat(kPrefix, ".", parts[0])] = n;
    }
    return counts;
  }

  void RunSteps(size_t from, size_t to) {
    std::vector<WorkloadStep> steps = CrmWorkload();
    for (size_t i = from; i < to && i < steps.size(); ++i) {
      ASSERT_THAT(pg_->Psql("crm", steps[i].sql), IsOk()) << steps[i].name;
    }
  }

  // Stops a streaming agent with SIGTERM once the slot has reached the current position.
  void CatchUpAndStop(Subprocess& agent, const std::string& log) {
    ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
    ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(120)), IsOk())
        << ReadFile(log);
    agent.Kill(SIGTERM);
    ASSERT_OK_AND_ASSIGN(SubprocessResult stopped, agent.Wait(absl::Seconds(60)));
    EXPECT_EQ(stopped.exit_code, 0) << ReadFile(log);
  }

  TopicEvents ReadTopic(const std::string& topic) {
    TopicEvents out;
    auto raw = KcatConsume(kafka_->bootstrap(), topic);
    EXPECT_THAT(raw.status(), IsOk()) << topic;
    if (!raw.ok()) return out;
    out.raw = *std::move(raw);
    for (const ConsumedMessage& m : out.raw) {
      if (!m.value.has_value()) continue;
      v1::Event event;
      EXPECT_TRUE(event.ParseFromString(*m.value)) << topic << " offset " << m.offset;
      out.events.emplace_back(&m, std::move(event));
    }
    return out;
  }

  // No topic other than these and the transactions topic (no stray names).
  void ExpectOnlyOurTopics(const std::map<std::string, TopicEvents>& topics) {
    auto listed = KcatListTopics(kafka_->bootstrap());
    EXPECT_OK(listed.status());
    if (listed.ok()) {
      std::set<std::string> ours;
      for (const std::string& t : *listed) {
        if (absl::StartsWith(t, absl::StrCat(kPrefix, "."))) ours.insert(t);
      }
      std::set<std::string> expected = {absl::StrCat(kPrefix, ".transactions")};
      for (const auto& [topic, unused] : topics) expected.insert(topic);
      EXPECT_EQ(ours, expected);
    }
  }

  // Every value decodes with protoc against walship.proto, exactly as we parse it; returns
  // the transaction markers.
  std::vector<v1::TransactionMarker> ExpectProtocAgrees(
      const std::map<std::string, TopicEvents>& topics,
      const std::vector<ConsumedMessage>& marker_messages) {
    std::vector<std::string> event_bytes, marker_bytes;
    std::string expected_text;
    for (const auto& [topic, te] : topics) {
      for (const auto& [m, event] : te.events) {
        event_bytes.push_back(*m->value);
        expected_text += Nested("event", event);
      }
      if (!te.events.empty()) {
        const auto& [m, event] = te.events.front();
        auto one = ProtocDecodeOne("Event", *m->value);
        EXPECT_OK(one.status());
        if (one.ok()) {
          EXPECT_EQ(*one, TextOf(event)) << topic;
        }
      }
    }
    std::vector<v1::TransactionMarker> markers;
    for (const ConsumedMessage& m : marker_messages) {
      v1::TransactionMarker marker;
      EXPECT_TRUE(m.value.has_value() && marker.ParseFromString(*m.value));
      marker_bytes.push_back(m.value.value_or(""));
      expected_text += Nested("marker", marker);
      markers.push_back(std::move(marker));
    }
    auto batch = ProtocCheckBatch(work_, event_bytes, marker_bytes, expected_text);
    EXPECT_OK(batch.status());
    if (batch.ok()) {
      EXPECT_EQ(*batch, "") << "protoc disagrees";
    }
    EXPECT_GT(event_bytes.size(), 6000u);
    return markers;
  }

  // Headers, and per key (null key: its own group) positions increase with the offset.
  void ExpectHeadersAndKeyOrder(const std::map<std::string, TopicEvents>& topics) {
    for (const auto& [topic, te] : topics) {
      std::map<std::pair<int, std::string>, Position> last;
      for (const auto& [m, event] : te.events) {
        Position p{event.commit_lsn(), event.sequence()};
        EXPECT_THAT(m->headers, HasSubstr(absl::StrCat("walship.position=", PositionText(p))));
        EXPECT_THAT(m->headers, HasSubstr(absl::StrCat("walship.xid=", event.xid())));
        auto key = std::make_pair(m->partition, m->key.value_or("<null>"));
        auto it = last.find(key);
        // Equal positions are re-sent duplicates; a smaller one is also a re-send (after a
        // restart) only if it was seen before, which DropDuplicates proves below.
        if (it != last.end() && p < it->second) {
          bool resent = false;
          for (const auto& [m2, e2] : te.events) {
            if (m2 == m) break;
            resent |= m2->partition == m->partition && Position{e2.commit_lsn(), e2.sequence()} == p;
          }
          EXPECT_TRUE(resent) << topic << ": position " << PositionText(p) << " after "
                              << PositionText(it->second) << " for one key (partition "
                              << m->partition << ", offset " << m->offset << ")";
        }
        last[key] = std::max(p, it == last.end() ? p : it->second);
      }
    }
  }

  // BEGIN then END per transaction, and END's per-table counts equal what the topics hold
  // for its commit (`per_commit`: commit LSN -> topic -> events).
  void ExpectMarkersMatchTopics(
      const std::vector<v1::TransactionMarker>& markers,
      const std::map<uint64_t, std::map<std::string, uint64_t>>& per_commit) {
    std::map<uint64_t, std::map<std::string, uint64_t>> end_counts;
    std::map<uint32_t, std::vector<v1::TransactionMarker::Kind>> kinds;
    for (const v1::TransactionMarker& marker : markers) {
      kinds[marker.xid()].push_back(marker.kind());
      if (marker.kind() != v1::TransactionMarker::END) continue;
      std::map<std::string, uint64_t> counts(marker.per_table_counts().begin(),
                                             marker.per_table_counts().end());
      if (end_counts.contains(marker.commit_lsn())) {
        EXPECT_EQ(end_counts[marker.commit_lsn()], counts) << "a re-sent END differs";
      }
      end_counts[marker.commit_lsn()] = counts;
    }
    EXPECT_EQ(end_counts, per_commit) << "END markers' per-table counts differ from the topics";
    for (const auto& [xid, k] : kinds) {
      EXPECT_GE(k.size(), 2u) << "xid " << xid;
      if (k.size() < 2) continue;
      EXPECT_EQ(k.front(), v1::TransactionMarker::BEGIN) << "xid " << xid;
      EXPECT_EQ(k.back(), v1::TransactionMarker::END) << "xid " << xid;
    }
  }

  // Each table rebuilt from its topic (`kept`: duplicates dropped) equals the source, byte
  // for byte as row::text.
  void ExpectRebuiltTablesEqualSource(std::map<std::string, std::vector<v1::Event>>& kept) {
    TableRows rebuilt;
    for (const std::string& table : kTables) {
      std::vector<v1::Event> events = kept[absl::StrCat(kPrefix, ".", table)];
      std::stable_sort(events.begin(), events.end(), [](const v1::Event& a, const v1::Event& b) {
        return std::make_pair(a.commit_lsn(), a.sequence()) <
               std::make_pair(b.commit_lsn(), b.sequence());
      });
      RebuiltTable state;
      for (const v1::Event& e : events) {
        absl::Status applied = Apply(e, &state);
        EXPECT_THAT(applied, IsOk()) << table;
        if (!applied.ok()) break;
      }
      std::vector<std::string> lines;
      for (const Cells& row : state.rows) lines.push_back(RowText(row, state.latest));
      std::sort(lines.begin(), lines.end());
      rebuilt[table] = std::move(lines);
    }
    auto source = CaptureTables(*pg_, "crm");
    EXPECT_OK(source.status());
    if (source.ok()) {
      EXPECT_EQ(FirstDifference(*source, rebuilt), "");
    }
  }

  // Reads every topic; checks decoding, headers, per-key order, the transaction markers'
  // counts, the per-topic totals against test_decoding, and the rebuilt tables against the
  // source. Returns the number of duplicates the consumer dropped.
  int CheckEverything() {
    std::map<std::string, TopicEvents> topics;
    for (const std::string& table : kTables) {
      std::string topic = absl::StrCat(kPrefix, ".", table);
      topics[topic] = ReadTopic(topic);
    }
    std::string messages_topic = absl::StrCat(kPrefix, ".messages");
    topics[messages_topic] = ReadTopic(messages_topic);
    auto marker_messages = KcatConsume(kafka_->bootstrap(), absl::StrCat(kPrefix, ".transactions"));
    EXPECT_OK(marker_messages.status());
    if (!marker_messages.ok()) return 0;

    ExpectOnlyOurTopics(topics);

    std::vector<v1::TransactionMarker> markers = ExpectProtocAgrees(topics, *marker_messages);

    ExpectHeadersAndKeyOrder(topics);

    // The consumer's view: duplicates dropped; then totals, transactions, rebuilt tables.
    int dropped = 0;
    std::map<std::string, std::vector<v1::Event>> kept;
    std::map<std::string, uint64_t> totals;
    std::map<uint64_t, std::map<std::string, uint64_t>> per_commit;  // commit LSN -> topic -> n
    for (const auto& [topic, te] : topics) {
      kept[topic] = DropDuplicates(te, &dropped);
      std::set<Position> unique;
      for (const v1::Event& e : kept[topic]) {
        EXPECT_TRUE(unique.insert({e.commit_lsn(), e.sequence()}).second)
            << topic << ": " << PositionText({e.commit_lsn(), e.sequence()})
            << " kept twice (different partitions)";
        ++per_commit[e.commit_lsn()][topic];
      }
      totals[topic] = kept[topic].size();
    }
    EXPECT_EQ(totals, ReferenceCounts()) << "events per topic differ from test_decoding";

    ExpectMarkersMatchTopics(markers, per_commit);

    // The mark reached the messages topic.
    bool mark = false;
    for (const v1::Event& e : kept[messages_topic]) {
      mark |= e.message().prefix() == "walship" && e.message().content() == "mark:after-late-corp";
    }
    EXPECT_TRUE(mark);

    ExpectRebuiltTablesEqualSource(kept);
    return dropped;
  }

  std::unique_ptr<PgCluster> pg_;
  std::unique_ptr<KafkaMockCluster> kafka_;
  std::string store_;
  std::string work_;
};

}  // namespace walship::testing

#endif  // WALSHIP_TESTS_INTEGRATION_AGENT_KAFKA_FIXTURE_H_
