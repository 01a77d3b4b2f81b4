// End to end through the shipped walship-agent: the CRM workload streamed to the mock Kafka
// cluster (its own process, 3 brokers, real protocol on loopback TCP) and a local object
// store. What the brokers hold is read back with kcat, every value is decoded by protoc
// against proto/walship.proto, each table is rebuilt from its topic and compared with the
// source byte for byte as `row::text`, and the expected number of events per table comes
// from an independent decoder (a test_decoding slot created before the workload).
#include <signal.h>

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "proto/core/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/walship.pb.h"
#include "tests/integration/crm_workload.h"
#include "tests/integration/harness.h"
#include "tests/testing/kafka_mock.h"
#include "tests/testing/kcat.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace walship::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPrefix[] = "crm";
const std::vector<std::string> kTables = {"public.activity_log", "public.customers",
                                          "public.deal_contacts", "public.deals"};

// ---- reading the brokers with kcat ---------------------------------------------------


// ---- decoding with protoc ------------------------------------------------------------

std::string TextOf(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(message, &text);
  return text;
}

absl::StatusOr<std::string> RunProtoc(const std::vector<std::string>& args,
                                      const std::string& bytes) {
  std::vector<std::string> argv = {"protoc"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = Subprocess::Run(argv, absl::Seconds(300), {}, bytes);
  if (!result.ok()) return result.status();
  if (!result->ok()) return absl::InternalError(absl::StrCat("protoc: ", result->stderr_text));
  return result->stdout_text;
}

// `protoc --decode=walship.v1.Event -I proto walship.proto` of one message.
absl::StatusOr<std::string> ProtocDecodeOne(const std::string& type, const std::string& bytes) {
  return RunProtoc({absl::StrCat("--decode=walship.v1.", type), "-I", WALSHIP_PROTO_DIR,
                    "walship.proto"},
                   bytes);
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Decodes many values in one protoc run: the values become the elements of a repeated field
// of a list type whose only content is walship.proto's own messages, so each element is
// decoded by walship.proto alone. Returns the first difference from `expected`, or "".
absl::StatusOr<std::string> ProtocCheckBatch(const std::string& work,
                                             const std::vector<std::string>& events,
                                             const std::vector<std::string>& markers,
                                             const std::string& expected_text) {
  std::string list_dir = work + "/protoc";
  std::filesystem::create_directories(list_dir);
  {
    std::ofstream list(list_dir + "/kafka_values.proto");
    list << "syntax = \"proto3\";\npackage walship.check;\nimport \"walship.proto\";\n"
            "message KafkaValues {\n  repeated walship.v1.Event event = 1;\n"
            "  repeated walship.v1.TransactionMarker marker = 2;\n}\n";
  }
  std::string bytes;
  for (const std::string& v : events) {
    bytes.push_back(0x0A);
    AppendVarint(v.size(), &bytes);
    bytes += v;
  }
  for (const std::string& v : markers) {
    bytes.push_back(0x12);
    AppendVarint(v.size(), &bytes);
    bytes += v;
  }
  auto decoded = RunProtoc({"--decode=walship.check.KafkaValues", "-I", WALSHIP_PROTO_DIR, "-I",
                            list_dir, "kafka_values.proto"},
                           bytes);
  if (!decoded.ok()) return decoded.status();
  if (*decoded == expected_text) return std::string();
  std::vector<std::string> got = absl::StrSplit(*decoded, '\n');
  std::vector<std::string> want = absl::StrSplit(expected_text, '\n');
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    std::string g = i < got.size() ? got[i] : "<end>";
    std::string w = i < want.size() ? want[i] : "<end>";
    if (g != w) return absl::StrFormat("line %d: protoc printed %s, expected %s", i + 1, g, w);
  }
  return std::string("outputs differ");
}

std::string Nested(absl::string_view field, const google::protobuf::Message& message) {
  std::string out = absl::StrCat(field, " {\n");
  for (absl::string_view line : absl::StrSplit(TextOf(message), '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

// ---- what a consumer does ------------------------------------------------------------

using Position = std::pair<uint64_t, uint32_t>;  // (commit LSN, sequence)

std::string PositionText(const Position& p) { return absl::StrFormat("%016X:%u", p.first, p.second); }

struct TopicEvents {
  // Messages with a value, parsed, in (partition, offset) order, duplicates included.
  std::vector<std::pair<const ConsumedMessage*, v1::Event>> events;
  std::vector<ConsumedMessage> raw;
};

// The consumer-side duplicate filter: per partition, in offset order, an event whose
// position is not greater than the last one kept is dropped. Returns the kept events and
// counts the dropped ones.
std::vector<v1::Event> DropDuplicates(const TopicEvents& topic, int* dropped) {
  std::vector<v1::Event> kept;
  std::map<int, Position> last;
  for (const auto& [m, event] : topic.events) {
    Position p{event.commit_lsn(), event.sequence()};
    auto it = last.find(m->partition);
    if (it != last.end() && p <= it->second) {
      ++*dropped;
      continue;
    }
    last[m->partition] = p;
    kept.push_back(event);
  }
  return kept;
}

// One table rebuilt from its events: rows as column name -> text (nullopt for NULL).
using Cells = std::map<std::string, std::optional<std::string>>;

struct RebuiltTable {
  std::vector<Cells> rows;
  v1::Relation latest;  // the relation of the newest event: the column order to render
  Position latest_position{0, 0};
};

bool IsIdentityColumn(const v1::Relation& relation, int i) {
  return relation.columns(i).key() || relation.replica_identity() == v1::REPLICA_IDENTITY_FULL;
}

std::optional<std::string> CellOf(const v1::Value& value) {
  if (value.has_null()) return std::nullopt;
  return value.text();
}

bool Matches(const Cells& row, const v1::Relation& relation, const v1::Row& image) {
  for (int i = 0; i < relation.columns_size() && i < image.values_size(); ++i) {
    if (!IsIdentityColumn(relation, i) || image.values(i).has_unchanged_toast()) continue;
    auto it = row.find(relation.columns(i).name());
    std::optional<std::string> have = it == row.end() ? std::nullopt : it->second;
    if (have != CellOf(image.values(i))) return false;
  }
  return true;
}

absl::Status Apply(const v1::Event& event, RebuiltTable* table) {
  const v1::Relation& relation = event.relation();
  Position p{event.commit_lsn(), event.sequence()};
  if (p > table->latest_position) {
    table->latest = relation;
    table->latest_position = p;
  }
  auto find = [&](const v1::Row& image) -> absl::StatusOr<size_t> {
    for (size_t i = 0; i < table->rows.size(); ++i) {
      if (Matches(table->rows[i], relation, image)) return i;
    }
    return absl::NotFoundError(absl::StrCat("no row matches the old image of ", PositionText(p)));
  };
  switch (event.op()) {
    case v1::INSERT: {
      Cells cells;
      for (int i = 0; i < relation.columns_size(); ++i) {
        if (event.new_row().values(i).has_unchanged_toast()) {
          return absl::DataLossError(absl::StrCat("unchanged TOAST in an INSERT at ", PositionText(p)));
        }
        cells[relation.columns(i).name()] = CellOf(event.new_row().values(i));
      }
      table->rows.push_back(std::move(cells));
      return absl::OkStatus();
    }
    case v1::UPDATE: {
      auto at = find(event.has_old_row() ? event.old_row() : event.new_row());
      if (!at.ok()) return at.status();
      Cells& row = table->rows[*at];
      Cells cells;
      for (int i = 0; i < relation.columns_size(); ++i) {
        const std::string& name = relation.columns(i).name();
        if (event.new_row().values(i).has_unchanged_toast()) {
          if (!row.contains(name)) {
            return absl::DataLossError(absl::StrCat("unchanged TOAST without a value at ", PositionText(p)));
          }
          cells[name] = row[name];
        } else {
          cells[name] = CellOf(event.new_row().values(i));
        }
      }
      row = std::move(cells);
      return absl::OkStatus();
    }
    case v1::DELETE: {
      auto at = find(event.old_row());
      if (!at.ok()) return at.status();
      table->rows.erase(table->rows.begin() + static_cast<std::ptrdiff_t>(*at));
      return absl::OkStatus();
    }
    case v1::TRUNCATE:
      table->rows.clear();
      return absl::OkStatus();
    default:
      return absl::DataLossError(absl::StrCat("unexpected operation at ", PositionText(p)));
  }
}

// PostgreSQL's record_out quoting of one field, then COPY's text escaping of the whole
// line: exactly what CaptureTables reads back for `t::text`.
std::string RowText(const Cells& row, const v1::Relation& relation) {
  std::string record = "(";
  for (int i = 0; i < relation.columns_size(); ++i) {
    if (i > 0) record += ',';
    auto it = row.find(relation.columns(i).name());
    if (it == row.end() || !it->second.has_value()) continue;
    const std::string& v = *it->second;
    bool quote = v.empty();
    for (char c : v) {
      if (c == '"' || c == '\\' || c == '(' || c == ')' || c == ',' || c == ' ' || c == '\t' ||
          c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        quote = true;
      }
    }
    if (!quote) {
      record += v;
      continue;
    }
    record += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') record += c;
      record += c;
    }
    record += '"';
  }
  record += ')';
  std::string line;
  for (char c : record) {
    switch (c) {
      case '\\': line += "\\\\"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      case '\t': line += "\\t"; break;
      case '\b': line += "\\b"; break;
      case '\f': line += "\\f"; break;
      case '\v': line += "\\v"; break;
      default: line += c;
    }
  }
  return line;
}

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

    // No topic other than these (no stray names).
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

    // Every value decodes with protoc against walship.proto, exactly as we parse it.
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
    for (const ConsumedMessage& m : *marker_messages) {
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

    // Headers, and per key (null key: its own group) positions increase with the offset.
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

    // The mark reached the messages topic.
    bool mark = false;
    for (const v1::Event& e : kept[messages_topic]) {
      mark |= e.message().prefix() == "walship" && e.message().content() == "mark:after-late-corp";
    }
    EXPECT_TRUE(mark);

    // Each table rebuilt from its topic equals the source, byte for byte as row::text.
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
    return dropped;
  }

  std::unique_ptr<PgCluster> pg_;
  std::unique_ptr<KafkaMockCluster> kafka_;
  std::string store_;
  std::string work_;
};

// ---- 1. the whole workload -----------------------------------------------------------

TEST_F(AgentKafkaTest, TopicsRebuildTheSourceTablesByteForByte) {
  CreateReferenceSlot();
  std::string log = work_ + "/agent.log";
  // No --topic-prefix: the prefix is the source database's name.
  auto agent = StartStreaming(AgentArgs(), log);
  ASSERT_NE(agent, nullptr);
  RunSteps(0, 100);
  CatchUpAndStop(*agent, log);
  EXPECT_EQ(CheckEverything(), 0) << "a clean run sent duplicates";
  // The object store got the same stream.
  EXPECT_FALSE(StoredSegments(store_).empty());
}

// ---- 2. broker outage ----------------------------------------------------------------

TEST_F(AgentKafkaTest, BrokerOutageHoldsTheSlotAndLosesNothing) {
  CreateReferenceSlot();
  std::string log = work_ + "/agent.log";
  auto agent = StartStreaming(AgentArgs({"--topic-prefix", kPrefix}), log);
  ASSERT_NE(agent, nullptr);
  RunSteps(0, 3);
  ASSERT_OK_AND_ASSIGN(Lsn delivered, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", delivered, absl::Seconds(60)), IsOk())
      << ReadFile(log);

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka_->Command(absl::StrCat("down ", id)));
    ASSERT_EQ(rc, 0);
  }
  absl::SleepFor(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(Lsn before, CurrentLsn(*pg_, "crm"));
  // A one-row transaction first, so that no keepalive can land inside it; then the rest of
  // the workload, while every broker is down.
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO deal_contacts VALUES (999, 1, 'during outage')").status());
  ASSERT_OK_AND_ASSIGN(Lsn first_end, CurrentLsn(*pg_, "crm"));
  RunSteps(3, 100);
  ASSERT_OK_AND_ASSIGN(Lsn end, CurrentLsn(*pg_, "crm"));
  absl::Time until = absl::Now() + absl::Seconds(4);
  while (absl::Now() < until) {
    ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(*pg_, "crm", "walship"));
    ASSERT_LE(confirmed, before) << "confirmed past what Kafka holds (first undelivered "
                                    "transaction ends at "
                                 << first_end.ToString() << ")";
    ASSERT_TRUE(agent->Running()) << ReadFile(log);
    absl::SleepFor(absl::Milliseconds(100));
  }
  // The object store alone holds the outage's transactions: it is not what is acknowledged.
  EXPECT_GT(MaxStoredEnd(store_), before);

  for (int id = 1; id <= 3; ++id) {
    ASSERT_OK_AND_ASSIGN(int rc, kafka_->Command(absl::StrCat("up ", id)));
    ASSERT_EQ(rc, 0);
  }
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", end, absl::Seconds(120)), IsOk())
      << ReadFile(log);
  CatchUpAndStop(*agent, log);
  CheckEverything();
  // Counted by kcat, the outage's first transaction is there.
  ASSERT_OK_AND_ASSIGN(auto contacts, KcatConsume(kafka_->bootstrap(), "crm.public.deal_contacts"));
  int found = 0;
  for (const ConsumedMessage& m : contacts) {
    found += m.value.has_value() && absl::StrContains(*m.value, "during outage");
  }
  EXPECT_EQ(found, 1);
}

// ---- 3. kill -9 mid-stream -----------------------------------------------------------

TEST_F(AgentKafkaTest, KillNineThenRestartLosesNothingAndDuplicatesAreDroppable) {
  CreateReferenceSlot();
  // The first run is killed while PostgreSQL streams the large transaction (savepoint
  // changes included, then aborted); the restart gets it whole at commit. Re-sent events
  // must keep their positions either way.
  std::vector<std::string> args = AgentArgs({"--topic-prefix", kPrefix});
  {
    // Killed by the test while the large transaction is being shipped.
    std::string log = work_ + "/agent-1.log";
    auto agent = StartStreaming(args, log);
    ASSERT_NE(agent, nullptr);
    RunSteps(0, 4);
    absl::SleepFor(absl::Milliseconds(300));
    agent->Kill(SIGKILL);
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, agent->Wait(absl::Seconds(30)));
    EXPECT_EQ(result.term_signal, SIGKILL) << ReadFile(log);
  }
  RunSteps(4, 5);
  {
    // Kills itself after delivering, just before acknowledging: a sure re-send.
    std::string log = work_ + "/agent-2.log";
    auto agent = StartAgent(args, log, {{"WALSHIP_CRASH_AT", "before-ack:2"}});
    ASSERT_OK(agent.status());
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, (*agent)->Wait(absl::Seconds(120)));
    EXPECT_EQ(result.term_signal, SIGKILL) << ReadFile(log);
  }
  std::string log = work_ + "/agent-3.log";
  auto agent = StartStreaming(args, log);
  ASSERT_NE(agent, nullptr);
  RunSteps(5, 100);
  CatchUpAndStop(*agent, log);
  int dropped = CheckEverything();
  RecordProperty("duplicates_dropped", dropped);
  std::printf("consumer dropped %d re-sent events\n", dropped);
}

// ---- 4. bad input --------------------------------------------------------------------

class AgentKafkaBadInputTest : public AgentKafkaTest {
 protected:
  void SetUp() override {
    AgentKafkaTest::SetUp();
    ASSERT_OK(pg_->Psql("crm", "CREATE TABLE notes (id int PRIMARY KEY, body text)").status());
  }
  bool SlotExists() {
    auto n = pg_->Query("crm", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walship'");
    EXPECT_OK(n.status());
    return n.ok() && *n != "0";
  }
  bool PublicationExists() {
    auto n = pg_->Query("crm", "SELECT count(*) FROM pg_publication WHERE pubname = 'walship'");
    EXPECT_OK(n.status());
    return n.ok() && *n != "0";
  }
  // Creates slot and publication with a run that has no Kafka sink, then one transaction.
  Lsn PrepareWithPendingTransaction() {
    std::vector<std::string> args = {"--source",       pg_->ConnInfo("crm"), "--create",
                                     "--object-store", "file://" + store_,   "--work-dir",
                                     work_,            "--until-lsn",        "0/1"};
    auto setup = RunAgent(args);
    EXPECT_OK(setup.status());
    if (setup.ok()) {
      EXPECT_EQ(setup->exit_code, 0) << setup->stderr_text;
    }
    EXPECT_OK(pg_->Psql("crm", "INSERT INTO notes VALUES (1, 'pending')").status());
    auto confirmed = SlotConfirmed(*pg_, "crm", "walship");
    EXPECT_OK(confirmed.status());
    return confirmed.value_or(Lsn::Invalid());
  }
};

TEST_F(AgentKafkaBadInputTest, UnreachableBootstrapExitsWithoutAcknowledging) {
  Lsn confirmed = PrepareWithPendingTransaction();
  ASSERT_TRUE(confirmed.valid());
  std::vector<std::string> args = AgentArgs();
  *std::find(args.begin(), args.end(), kafka_->bootstrap()) = "127.0.0.1:1";
  ASSERT_OK_AND_ASSIGN(SubprocessResult result, RunAgent(args, absl::Seconds(90)));
  EXPECT_EQ(result.exit_code, 1) << result.stderr_text;
  EXPECT_THAT(result.stderr_text, HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(result.stderr_text, HasSubstr("no broker"));
  ASSERT_OK_AND_ASSIGN(Lsn after, SlotConfirmed(*pg_, "crm", "walship"));
  EXPECT_EQ(after, confirmed);
}

TEST_F(AgentKafkaBadInputTest, UnknownLibrdkafkaSettingIsRefusedWithLibrdkafkasReason) {
  ASSERT_OK_AND_ASSIGN(SubprocessResult result,
                       RunAgent(AgentArgs({"--kafka-config", "no.such.setting=1"})));
  EXPECT_THAT(result.exit_code, ::testing::AnyOf(1, 2)) << result.stderr_text;
  EXPECT_THAT(result.stderr_text, HasSubstr("no.such.setting"));
  EXPECT_THAT(result.stderr_text, HasSubstr("No such configuration property"));
}

TEST_F(AgentKafkaBadInputTest, SecretOnTheCommandLineIsRefusedAndNeverPrinted) {
  const std::string secret = "hunter2-do-not-print";
  ASSERT_OK_AND_ASSIGN(
      SubprocessResult result,
      RunAgent(AgentArgs({"--kafka-config", absl::StrCat("sasl.password=", secret)})));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.stderr_text, HasSubstr("sasl.password"));
  EXPECT_THAT(result.stderr_text, HasSubstr("--kafka-config-file"));
  EXPECT_THAT(result.stderr_text + result.stdout_text, Not(HasSubstr(secret)));

  // The same secret in a properties file is accepted (PLAINTEXT ignores it).
  std::string file = work_ + "/kafka.properties";
  std::ofstream(file) << "# secrets live here\nsasl.password=" << secret << "\n";
  ASSERT_OK_AND_ASSIGN(SubprocessResult ok,
                       RunAgent(AgentArgs({"--kafka-config-file", file, "--until-lsn", "0/1"})));
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;
  EXPECT_THAT(ok.stderr_text + ok.stdout_text, Not(HasSubstr(secret)));
}

// A start refused for its Kafka settings must leave the source untouched: no slot (which
// would pin WAL), no publication, no event trigger.
TEST_F(AgentKafkaBadInputTest, RefusedKafkaSettingsCreateNothing) {
  for (const char* setting : {"no.such.setting=1", "sasl.password=x", "acks=1"}) {
    SCOPED_TRACE(setting);
    ASSERT_OK_AND_ASSIGN(SubprocessResult result, RunAgent(AgentArgs({"--kafka-config", std::string(setting)})));
    EXPECT_NE(result.exit_code, 0) << result.stderr_text;
    EXPECT_FALSE(SlotExists()) << "a refused start left a slot behind";
    EXPECT_FALSE(PublicationExists()) << "a refused start left a publication behind";
    ASSERT_OK(pg_->Psql("crm", "SELECT pg_drop_replication_slot(slot_name) FROM "
                               "pg_replication_slots WHERE slot_name = 'walship'; "
                               "DROP PUBLICATION IF EXISTS walship")
                  .status());
  }
}

// Runs `sql` as one transaction and returns where its commit record begins (the insert
// position just before COMMIT): acknowledging the transaction means confirming its commit
// record's end, past this; anything not including it (a keepalive's position) is at most
// this.
absl::StatusOr<Lsn> CommitRecordStart(PgCluster& pg, const std::string& sql) {
  WALSHIP_ASSIGN_OR_RETURN(
      std::string out,
      pg.Query("crm", "BEGIN; " + sql + "; SELECT pg_current_wal_insert_lsn(); COMMIT;"));
  return Lsn::Parse(out);
}

// The agent must stop on its own with a clear error and leave the transaction whose commit
// record begins at `commit_start` unacknowledged.
void ExpectStopsWithoutAcknowledging(Subprocess& agent, const std::string& log, PgCluster& pg,
                                     Lsn commit_start, absl::string_view error) {
  auto result = agent.Wait(absl::Seconds(90));
  ASSERT_THAT(result.status(), IsOk()) << ReadFile(log);
  EXPECT_NE(result->exit_code, 0);
  std::string text = ReadFile(log);
  EXPECT_THAT(text, HasSubstr(std::string(error)));
  EXPECT_THAT(text, HasSubstr("crm.public.notes"));
  ASSERT_OK_AND_ASSIGN(Lsn confirmed, SlotConfirmed(pg, "crm", "walship"));
  EXPECT_LE(confirmed, commit_start) << "the failed transaction was acknowledged";
}

TEST_F(AgentKafkaBadInputTest, TopicAuthorizationFailureStopsWithoutAcknowledging) {
  std::string log = work_ + "/agent.log";
  // With several requests in flight the mock falsely acknowledges failed batches
  // (ENVIRONMENT.md), so this uses one.
  auto agent = StartStreaming(
      AgentArgs({"--topic-prefix", kPrefix, "--kafka-config",
                 "max.in.flight.requests.per.connection=1"}),
      log);
  ASSERT_NE(agent, nullptr);
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO notes VALUES (1, 'allowed')").status());
  ASSERT_OK_AND_ASSIGN(Lsn first, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", first, absl::Seconds(60)), IsOk())
      << ReadFile(log);

  ASSERT_OK_AND_ASSIGN(int rc, kafka_->Command("err 0 29 29 29 29 29 29 29 29 29 29"));
  ASSERT_EQ(rc, 0);
  ASSERT_OK_AND_ASSIGN(Lsn denied, CommitRecordStart(*pg_, "INSERT INTO notes VALUES (2, 'denied')"));
  ExpectStopsWithoutAcknowledging(*agent, log, *pg_, denied, "TOPIC_AUTHORIZATION_FAILED");
}

TEST_F(AgentKafkaBadInputTest, MessageLargerThanMaxBytesStopsWithoutAcknowledging) {
  std::string log = work_ + "/agent.log";
  auto agent = StartStreaming(
      AgentArgs({"--topic-prefix", kPrefix, "--kafka-config", "message.max.bytes=2000"}), log);
  ASSERT_NE(agent, nullptr);
  ASSERT_OK(pg_->Psql("crm", "INSERT INTO notes VALUES (1, 'small')").status());
  ASSERT_OK_AND_ASSIGN(Lsn first, CurrentLsn(*pg_, "crm"));
  ASSERT_THAT(WaitForSlot(*pg_, "crm", "walship", first, absl::Seconds(60)), IsOk())
      << ReadFile(log);
  ASSERT_OK_AND_ASSIGN(
      Lsn big, CommitRecordStart(*pg_, "INSERT INTO notes VALUES (2, repeat('0123456789', 1000))"));
  ExpectStopsWithoutAcknowledging(*agent, log, *pg_, big, "MSG_SIZE_TOO_LARGE");
}

}  // namespace
}  // namespace walship::testing
