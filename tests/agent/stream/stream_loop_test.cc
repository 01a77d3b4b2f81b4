// Tests for StreamLoop over an in-memory replication session and sink, on a fake clock:
// what the loop acknowledges to the server (never past the sinks' durable watermark), when
// it answers keepalives and sends status updates, and how it reconnects.
#include "agent/stream/stream_loop.h"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pgoutput_bytes.h"
#include "tests/agent/stream/stream_test_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_pg_session.h"
#include "tests/testing/status_matchers.h"

namespace walship::agent {
namespace {

using ::walship::testing::Bytes;
using ::walship::testing::FakeClock;
using ::walship::testing::FakePgSession;
using ::walship::testing::IsOk;
using ::walship::testing::StatusIs;

constexpr int64_t kPgEpochUs = 946684800000000;  // 2000-01-01 in Unix microseconds
constexpr char kSystemId[] = "7300000000000000001";
constexpr uint32_t kTableOid = 16400;

// What the fake server saw of one standby status update.
struct StatusSeen {
  Lsn received;
  Lsn flushed;
  absl::Time at;
  Lsn durable_then;  // the sink's durable watermark when it was sent
};

// Everything the fake sessions record; shared by a test and the sessions it hands out.
struct ServerLog {
  std::vector<StatusSeen> statuses;
  int started = 0;
  int ended = 0;
};

// One scripted step of the server: after `delay` of fake time, a message (or, with
// `drop`, a lost connection).
struct Step {
  absl::Duration delay;
  pg::CopyMessage message;
  bool drop = false;
};

class FakeSession : public pg::ReplicationSession {
 public:
  FakeSession(FakeClock& clock, ServerLog& log, std::deque<Step> script,
              std::function<Lsn()> durable, std::string system_id = kSystemId)
      : clock_(clock),
        log_(log),
        script_(std::move(script)),
        durable_(std::move(durable)),
        system_id_(std::move(system_id)) {}

  // Called whenever the script has run out (the test stops the loop from here).
  std::function<void()> on_drained;

  absl::StatusOr<pg::SystemIdentity> IdentifySystem() override {
    return pg::SystemIdentity{system_id_, 1, Lsn(0x1000000), "crm"};
  }
  absl::Status CheckServer() override { return absl::OkStatus(); }
  absl::StatusOr<std::string> ShowSetting(absl::string_view name) override {
    if (name == "wal_sender_timeout") return std::string("60s");
    return std::string("15.0");
  }
  absl::StatusOr<pg::ExportedSnapshot> CreateTemporarySlotWithSnapshot(
      absl::string_view) override {
    return absl::UnimplementedError("not in this fake");
  }
  absl::Status StartReplication(absl::string_view, absl::string_view, Lsn) override {
    ++log_.started;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<pg::CopyMessage>> Read(absl::Time deadline) override {
    if (script_.empty()) {
      if (on_drained) on_drained();
      clock_.Set(std::max(clock_.Now(), deadline));
      return std::optional<pg::CopyMessage>();
    }
    Step& next = script_.front();
    if (clock_.Now() + next.delay > deadline) {
      next.delay -= std::max(deadline - clock_.Now(), absl::ZeroDuration());
      clock_.Set(std::max(clock_.Now(), deadline));
      return std::optional<pg::CopyMessage>();
    }
    clock_.Advance(next.delay);
    Step step = std::move(next);
    script_.pop_front();
    if (step.drop) return absl::UnavailableError("connection to the server was lost");
    return std::optional<pg::CopyMessage>(std::move(step.message));
  }
  absl::Status SendStatus(Lsn received, Lsn flushed, bool) override {
    log_.statuses.push_back(StatusSeen{received, flushed, clock_.Now(), durable_()});
    return absl::OkStatus();
  }
  absl::Status EndStream() override {
    ++log_.ended;
    return absl::OkStatus();
  }

 private:
  FakeClock& clock_;
  ServerLog& log_;
  std::deque<Step> script_;
  std::function<Lsn()> durable_;
  std::string system_id_;
};

// A sink that makes transactions durable only as far as the test allows, or all of them
// on Flush().
class FakeSink : public sinks::Sink {
 public:
  std::string name() const override { return "fake"; }
  absl::Status Write(const proto::Transaction& txn) override {
    written_.push_back(txn.info().end_lsn);
    Advance();
    return absl::OkStatus();
  }
  absl::Status Poll(absl::Time) override {
    Advance();
    return absl::OkStatus();
  }
  absl::Time NextDeadline() const override { return absl::InfiniteFuture(); }
  absl::Status Flush(absl::Time) override {
    allowed_ = written_.size();
    Advance();
    return absl::OkStatus();
  }
  Lsn DurableWatermark() const override { return durable_; }
  bool HasPending() const override { return durable_count_ < written_.size(); }
  absl::Status Close(absl::Time deadline) override { return Flush(deadline); }

  // At most the first `count` transactions written become durable (until Flush()).
  void AllowDurable(size_t count) { allowed_ = count; }
  const std::vector<Lsn>& written() const { return written_; }

 private:
  void Advance() {
    while (durable_count_ < written_.size() && durable_count_ < allowed_) {
      durable_ = written_[durable_count_++];
    }
  }

  std::vector<Lsn> written_;
  size_t allowed_ = 0;
  size_t durable_count_ = 0;
  Lsn durable_;
};

pg::CopyMessage XLog(uint64_t lsn, std::string payload) {
  pg::CopyMessage m;
  m.kind = pg::CopyMessage::Kind::kXLogData;
  m.wal_start = Lsn(lsn);
  m.wal_end = Lsn(lsn);
  m.payload = std::move(payload);
  return m;
}

pg::CopyMessage Keepalive(uint64_t wal_end, bool reply) {
  pg::CopyMessage m;
  m.kind = pg::CopyMessage::Kind::kKeepalive;
  m.wal_end = Lsn(wal_end);
  m.reply_requested = reply;
  return m;
}

std::string RelationBytes() {
  return Bytes()
      .Char('R').U32(kTableOid).Str("public").Str("accounts").Char('d').U16(1)
      .U8(1).Str("id").U32(23).I32(-1);
}

// One transaction with one INSERT: BEGIN at `lsn`, COMMIT ending at `lsn + 0x100`.
std::vector<Step> Transaction(uint64_t lsn, uint32_t xid, absl::Duration delay = {}) {
  const uint64_t end = lsn + 0x100;
  const int64_t commit_time = 1000000 * static_cast<int64_t>(xid);
  std::vector<Step> steps;
  steps.push_back({delay, XLog(lsn, Bytes().Char('B').U64(lsn + 0x80).I64(commit_time).U32(xid))});
  steps.push_back({{}, XLog(lsn + 0x10, Bytes().Char('I').U32(kTableOid).Char('N').U16(1).Text(
                                            std::to_string(xid)))});
  steps.push_back(
      {{}, XLog(lsn + 0x80, Bytes().Char('C').U8(0).U64(lsn + 0x80).U64(end).I64(commit_time))});
  return steps;
}

class StreamLoopTest : public ::testing::Test {
 protected:
  StreamOptions Options() {
    StreamOptions options;
    options.conninfo = "dbname=unused";
    options.slot = "walship";
    options.publication = "walship";
    options.system_id = kSystemId;
    options.spill_dir = dir_.path();
    options.status_interval = absl::Seconds(10);
    options.idle_report_interval = absl::InfiniteDuration();
    options.slot_stats_interval = absl::ZeroDuration();  // no side session in these tests
    options.sequence_interval = absl::ZeroDuration();
    return options;
  }
  std::unique_ptr<FakeSession> Session(std::deque<Step> script,
                                       std::string system_id = kSystemId) {
    return std::make_unique<FakeSession>(clock_, log_, std::move(script),
                                         [this] { return sink_.DurableWatermark(); },
                                         std::move(system_id));
  }
  static std::deque<Step> Script(std::vector<std::vector<Step>> parts) {
    std::deque<Step> script;
    for (auto& part : parts) {
      for (Step& step : part) script.push_back(std::move(step));
    }
    return script;
  }

  ::walship::testing::TempDir dir_;
  FakeClock clock_;
  ServerLog log_;
  FakeSink sink_;
  NoOpStreamProbe probe_;
  std::atomic<bool> stop_{false};
};

TEST_F(StreamLoopTest, NeverAcknowledgesPastTheSinksDurableWatermark) {
  sink_.AllowDurable(1);  // only the first transaction becomes durable before the flush
  std::deque<Step> script = Script({{{{}, XLog(0x2000000, RelationBytes())}},
                                    Transaction(0x2000100, 801),
                                    Transaction(0x2000300, 802),
                                    {{absl::Seconds(1), Keepalive(0x2000500, /*reply=*/true)}},
                                    Transaction(0x2000600, 803)});
  StreamOptions options = Options();
  options.until_lsn = Lsn(0x2000700);  // the third transaction's end
  StreamLoop loop(options, {&sink_}, Lsn(0x1000000), &stop_, probe_, clock_);

  ASSERT_THAT(loop.Run(Session(std::move(script))), IsOk());

  ASSERT_THAT(sink_.written(),
              ::testing::ElementsAre(Lsn(0x2000200), Lsn(0x2000400), Lsn(0x2000700)));
  ASSERT_FALSE(log_.statuses.empty());
  for (const StatusSeen& status : log_.statuses) {
    EXPECT_LE(status.flushed, std::max(status.durable_then, Lsn(0x1000000)))
        << "acknowledged " << status.flushed.ToString() << " with only "
        << status.durable_then.ToString() << " durable";
    EXPECT_GE(status.received, status.flushed);
  }
  // The reply to the keepalive confirms the first transaction, not the second.
  bool saw_partial = false;
  for (const StatusSeen& status : log_.statuses) {
    if (status.flushed == Lsn(0x2000200)) saw_partial = true;
    EXPECT_NE(status.flushed, Lsn(0x2000400));
  }
  EXPECT_TRUE(saw_partial);
  // After the final flush everything up to --until-lsn is acknowledged and the stream ended.
  EXPECT_EQ(log_.statuses.back().flushed, Lsn(0x2000700));
  EXPECT_EQ(loop.flushed(), Lsn(0x2000700));
  EXPECT_EQ(log_.ended, 1);
}

TEST_F(StreamLoopTest, AnswersAKeepaliveAtOnceAndOtherwiseKeepsTheStatusInterval) {
  const absl::Time start = clock_.Now();
  std::deque<Step> script =
      Script({{{absl::Seconds(25), Keepalive(0x1000000, /*reply=*/true)}}});
  std::unique_ptr<FakeSession> session = Session(std::move(script));
  session->on_drained = [&] {
    if (clock_.Now() >= start + absl::Seconds(45)) stop_.store(true);
  };
  StreamLoop loop(Options(), {&sink_}, Lsn(0x1000000), &stop_, probe_, clock_);

  ASSERT_THAT(loop.Run(std::move(session)), IsOk());

  std::vector<absl::Duration> at;
  for (const StatusSeen& status : log_.statuses) at.push_back(status.at - start);
  // The keepalive asked for a reply 25 s in: answered without waiting for the interval.
  EXPECT_THAT(at, ::testing::Contains(absl::Seconds(25)));
  // Otherwise one update per interval, never more than an interval apart.
  for (size_t i = 1; i < at.size(); ++i) {
    EXPECT_LE(at[i] - at[i - 1], absl::Seconds(10)) << "between updates " << i - 1 << " and " << i;
  }
  EXPECT_GE(at.size(), 5u);
  EXPECT_LE(at.size(), 8u);
}

TEST_F(StreamLoopTest, ConfirmsAnIdleKeepalivePositionWithNothingInFlight) {
  std::deque<Step> script = Script({{{absl::Seconds(1), Keepalive(0x3000000, /*reply=*/true)}}});
  std::unique_ptr<FakeSession> session = Session(std::move(script));
  session->on_drained = [&] { stop_.store(true); };
  StreamLoop loop(Options(), {&sink_}, Lsn(0x1000000), &stop_, probe_, clock_);

  ASSERT_THAT(loop.Run(std::move(session)), IsOk());

  EXPECT_EQ(loop.flushed(), Lsn(0x3000000));
  EXPECT_EQ(log_.statuses.back().flushed, Lsn(0x3000000));
}

TEST_F(StreamLoopTest, ReconnectsAfterALostConnectionAndKeepsTheFlushPosition) {
  sink_.AllowDurable(10);
  std::deque<Step> first = Script({{{{}, XLog(0x2000000, RelationBytes())}},
                                   Transaction(0x2000100, 801),
                                   {{absl::Seconds(1), {}, /*drop=*/true}}});
  // The server resends from the confirmed position: the first transaction again, then more.
  std::deque<Step> second = Script({{{{}, XLog(0x2000000, RelationBytes())}},
                                    Transaction(0x2000100, 801),
                                    Transaction(0x2000300, 802)});
  StreamOptions options = Options();
  options.until_lsn = Lsn(0x2000400);
  int reconnects = 0;
  options.reconnect = [&]() -> absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> {
    ++reconnects;
    return std::unique_ptr<pg::ReplicationSession>(Session(second));
  };
  StreamLoop loop(options, {&sink_}, Lsn(0x1000000), &stop_, probe_, clock_);

  ASSERT_THAT(loop.Run(Session(std::move(first))), IsOk());

  EXPECT_EQ(reconnects, 1);
  EXPECT_EQ(log_.started, 2);
  // The resent transaction is not handed to the sink twice.
  EXPECT_THAT(sink_.written(), ::testing::ElementsAre(Lsn(0x2000200), Lsn(0x2000400)));
  EXPECT_EQ(loop.flushed(), Lsn(0x2000400));
}

TEST_F(StreamLoopTest, RefusesToReconnectToAnotherCluster) {
  std::deque<Step> first = Script({{{absl::Seconds(1), {}, /*drop=*/true}}});
  StreamOptions options = Options();
  options.reconnect = [&]() -> absl::StatusOr<std::unique_ptr<pg::ReplicationSession>> {
    return std::unique_ptr<pg::ReplicationSession>(Session({}, "7399999999999999999"));
  };
  StreamLoop loop(options, {&sink_}, Lsn(0x1000000), &stop_, probe_, clock_);

  EXPECT_THAT(loop.Run(Session(std::move(first))),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// ---- side work over an ordinary session ----------------------------------------------------

// Opens FakePgSessions for the loop's side work (the loop owns them); the first `failures`
// opens fail as an unreachable server would.
struct SideSessions {
  pg::SessionFactory Factory() {
    return [this]() -> absl::StatusOr<std::unique_ptr<pg::Session>> {
      ++opened;
      if (failures > 0) {
        --failures;
        return absl::UnavailableError("connection refused");
      }
      auto session = std::make_unique<FakePgSession>();
      if (prepare) prepare(*session);
      sessions.push_back(session.get());
      return std::unique_ptr<pg::Session>(std::move(session));
    };
  }
  // How many logged statements or queries of session `i` contain `fragment`.
  int Count(size_t i, const std::string& fragment) const {
    int n = 0;
    for (const std::string& line : sessions.at(i)->log()) n += absl::StrContains(line, fragment);
    return n;
  }

  int failures = 0;
  int opened = 0;
  std::vector<FakePgSession*> sessions;
  std::function<void(FakePgSession&)> prepare;
};

// Keeps what the loop reports about the slot's retained WAL.
class SlotProbe : public NoOpStreamProbe {
 public:
  void SetSlotRetainedWalBytes(uint64_t bytes) override { retained.push_back(bytes); }
  std::vector<uint64_t> retained;
};

TEST_F(StreamLoopTest, IdleSideWorkGoesOverOneLongLivedSession) {
  const absl::Time start = clock_.Now();
  std::unique_ptr<FakeSession> session =
      Session(Script({{{absl::Seconds(1), Keepalive(0x1000000, /*reply=*/true)}}}));
  session->on_drained = [&] {
    if (clock_.Now() >= start + absl::Seconds(31)) stop_.store(true);
  };
  SideSessions side;
  side.prepare = [](FakePgSession& s) {
    s.AnswerValue("pg_replication_slots", "123456");
    s.AnswerValue("pg_current_wal_insert_lsn", "0/1000000");
    s.AnswerValue("pg_sequence_last_value",
                  R"([{"schema": "public", "name": "invoice_no", "last_value": "42"}])");
  };
  StreamOptions options = Options();
  options.connect_side = side.Factory();
  options.heartbeat_interval = absl::Seconds(5);
  options.slot_stats_interval = absl::Seconds(15);
  options.sequence_interval = absl::Seconds(10);
  SlotProbe probe;
  StreamLoop loop(options, {&sink_}, Lsn(0x1000000), &stop_, probe, clock_);

  ASSERT_THAT(loop.Run(std::move(session)), IsOk());

  ASSERT_EQ(side.sessions.size(), 1u) << "one side session, kept";
  // A heartbeat message every 5 s of the 31 idle seconds.
  int heartbeats = side.Count(0, "'walship.heartbeat'");
  EXPECT_GE(heartbeats, 6);
  EXPECT_LE(heartbeats, 8);
  // The slot's retained WAL every 15 s, as the server said.
  EXPECT_GE(probe.retained.size(), 2u);
  EXPECT_LE(probe.retained.size(), 3u);
  EXPECT_THAT(probe.retained, ::testing::Each(123456u));
  // The sequences were read more than once, but recorded once: their values never changed.
  EXPECT_GE(side.Count(0, "pg_sequence_last_value"), 2);
  EXPECT_EQ(side.Count(0, "pg_logical_emit_message(true"), 1);
}

TEST_F(StreamLoopTest, ASideSessionThatCannotBeOpenedIsTriedAgainAndNeverStopsTheStream) {
  const absl::Time start = clock_.Now();
  std::unique_ptr<FakeSession> session =
      Session(Script({{{absl::Seconds(1), Keepalive(0x3000000, /*reply=*/true)}}}));
  session->on_drained = [&] {
    if (clock_.Now() >= start + absl::Seconds(31)) stop_.store(true);
  };
  SideSessions side;
  side.failures = 2;
  StreamOptions options = Options();
  options.connect_side = side.Factory();
  options.heartbeat_interval = absl::Seconds(5);
  StreamLoop loop(options, {&sink_}, Lsn(0x1000000), &stop_, probe_, clock_);

  ASSERT_THAT(loop.Run(std::move(session)), IsOk());

  EXPECT_EQ(side.opened, 3) << "opened again at each heartbeat until it worked, then kept";
  ASSERT_EQ(side.sessions.size(), 1u);
  EXPECT_GE(side.Count(0, "'walship.heartbeat'"), 4);
  EXPECT_EQ(loop.flushed(), Lsn(0x3000000)) << "the stream went on meanwhile";
}

}  // namespace
}  // namespace walship::agent
