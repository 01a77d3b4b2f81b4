// KafkaSink: turns each transaction into Kafka messages (BEGIN marker, one message per
// event, END marker), produces them with librdkafka and settles the DeliveryTracker from
// delivery reports.
//
// Threads: librdkafka runs its own threads, but delivery reports and error callbacks run
// only inside rd_kafka_poll()/rd_kafka_flush(), which the sink calls from the caller's
// thread; so all state here is touched by one thread and needs no lock.
// Shutdown order: flush (bounded), purge what is left (those reports are ignored), then
// destroy the producer; the tracker outlives it.
#include "sinks/kafka/kafka_sink.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/core/log.h"
#include "proto/core/status_macros.h"
#include "proto/event_names.h"
#include "sinks/kafka/delivery_tracker.h"
#include "sinks/kafka/kafka_config.h"
#include "sinks/kafka/kafka_errors.h"
#include "sinks/kafka/kafka_naming.h"
#include "sinks/kafka/rdkafka_handles.h"
#include "sinks/kafka/wire_fields.h"

namespace walship::sinks {
namespace {


using kafka::DeliveryTracker;
using kafka::HeadersPtr;
using kafka::ProducerPtr;

constexpr absl::Duration kPollInterval = absl::Milliseconds(50);
constexpr int kBlockingPollMs = 100;

int64_t ToMillis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

std::string SerializeDeterministic(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

HeadersPtr MakeHeaders(absl::string_view position, absl::string_view xid, absl::string_view op) {
  HeadersPtr headers(rd_kafka_headers_new(3));
  auto add = [&](absl::string_view name, absl::string_view value) {
    rd_kafka_header_add(headers.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  };
  add(kafka::kPositionHeader, position);
  add(kafka::kXidHeader, xid);
  add(kafka::kOpHeader, op);
  return headers;
}

class KafkaSink : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {}
  ~KafkaSink() override { Shutdown(); }

  // Takes the producer; `this` must already be its opaque.
  void Attach(ProducerPtr rk) { rk_ = std::move(rk); }
  rd_kafka_t* producer() const { return rk_.get(); }

  std::string name() const override { return "kafka"; }

  absl::Status Write(const proto::Transaction& txn) override {
    if (!error_.ok()) return error_;
    const proto::TransactionInfo& info = txn.info();
    Txn t{&info, tracker_.Begin(info.end_lsn), 0, {}, info.xid.ToString()};
    WALSHIP_RETURN_IF_ERROR(ProduceMarker(v1::TransactionMarker::BEGIN, t));
    absl::Status status = txn.ForEachRecord([&](const v1::Record& record) -> absl::Status {
      if (record.has_relation_def()) {
        relations_[RelationOid(record.relation_def().oid())] = record.relation_def();
        tables_.erase(RelationOid(record.relation_def().oid()));
        return absl::OkStatus();
      }
      if (record.has_event()) return ProduceEvent(record.event(), t);
      return absl::OkStatus();
    });
    if (!status.ok()) {
      return Fail(Annotate(status, absl::StrFormat("kafka: transaction %u at %s", info.xid.value(),
                                                   info.commit_lsn.ToString())));
    }
    WALSHIP_RETURN_IF_ERROR(ProduceMarker(v1::TransactionMarker::END, t));
    tracker_.Seal(t.ticket);
    rd_kafka_poll(rk_.get(), 0);
    return error_;
  }

  absl::Status Poll(absl::Time) override {
    if (!error_.ok()) return error_;
    rd_kafka_poll(rk_.get(), 0);
    return error_;
  }

  absl::Time NextDeadline() const override {
    return tracker_.HasPending() ? options_.clock->Now() + kPollInterval : absl::InfiniteFuture();
  }

  absl::Status Flush(absl::Time deadline) override {
    if (!error_.ok()) return error_;
    if (rk_ == nullptr) return absl::FailedPreconditionError("kafka: sink is closed");
    while (tracker_.HasPending()) {
      absl::Duration left = deadline - options_.clock->Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrFormat(
            "kafka: %d messages not delivered by the flush deadline; brokers unreachable?",
            tracker_.outstanding()));
      }
      rd_kafka_flush(rk_.get(),
                     static_cast<int>(std::clamp<int64_t>(ToMillis(left), 1, kBlockingPollMs)));
      if (!error_.ok()) return error_;
    }
    return absl::OkStatus();
  }

  Lsn DurableWatermark() const override { return tracker_.watermark(); }
  bool HasPending() const override { return tracker_.HasPending(); }
  bool Backlogged() const override {
    return error_.ok() && buffered_bytes_ > options_.max_buffered_bytes;
  }

  absl::Status Close(absl::Time deadline) override {
    if (rk_ == nullptr) return error_;
    absl::Status status = Flush(deadline);
    Shutdown();
    return status;
  }

  // librdkafka callbacks; `opaque` is the sink.
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    uint64_t bytes = message->len + message->key_len;
    self->buffered_bytes_ -= std::min(bytes, self->buffered_bytes_);
    auto ticket =
        static_cast<DeliveryTracker::Ticket>(reinterpret_cast<uintptr_t>(message->_private));
    bool ok = message->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    self->tracker_.Delivered(ticket, ok);
    if (!ok && !self->closing_) {
      (void)self->Fail(kafka::DeliveryError(message->err, rd_kafka_topic_name(message->rkt)));
    }
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512] = {0};
      rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
      (void)self->Fail(absl::AbortedError(absl::StrFormat(
          "kafka: fatal producer error: %s (%s); the producer must be rebuilt from the last "
          "durable position",
          fatal, rd_kafka_err2name(cause))));
      return;
    }
    // Transient (brokers down, connection refused): librdkafka retries by itself.
    LogWarning("kafka: %s (%s)", reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
  }

  static void OnLog(const rd_kafka_t*, int level, const char* facility, const char* message) {
    // librdkafka logs transient broker failures at LOG_ERR; they are retried, so they
    // are warnings here. The sink's own failures are logged as errors by Fail().
    if (level <= 4) {
      LogWarning("kafka: librdkafka %s: %s", facility, message);
    } else if (level <= 6) {
      LogInfo("kafka: librdkafka %s: %s", facility, message);
    } else {
      LogDebug("kafka: librdkafka %s: %s", facility, message);
    }
  }

 private:
  // The transaction being written.
  struct Txn {
    const proto::TransactionInfo* info;
    DeliveryTracker::Ticket ticket;
    uint64_t events = 0;
    absl::flat_hash_map<size_t, uint64_t> per_topic;  // by index into topics_
    std::string xid;                                  // the xid header's value
  };

  // A topic the sink produces to: its name and librdkafka handle (made once, so producing
  // needs no lookup of the topic by name per message).
  struct Topic {
    std::string name;
    kafka::TopicPtr handle;
  };
  // What a table's row events need, made once per table version: the topic, and an Event
  // holding only the table's description, serialized (see EventBytes).
  struct TableOut {
    size_t topic = 0;
    std::string relation_field;
  };

  absl::Status Fail(absl::Status status) {
    if (error_.ok() && !status.ok()) {
      error_ = std::move(status);
      LogError("%s", error_.message());
    }
    return error_;
  }

  absl::StatusOr<const v1::Relation*> Describe(const v1::Relation& relation,
                                               const v1::Event& event) {
    if (!relation.table().empty()) return &relation;
    auto it = relations_.find(RelationOid(relation.oid()));
    if (it == relations_.end()) {
      return absl::InternalError(absl::StrFormat(
          "kafka: event %s uses relation OID %u without a RelationDef before it",
          kafka::PositionHeader(proto::PositionOf(event)), relation.oid()));
    }
    return &it->second;
  }

  // The index of topic `name` in topics_, its handle made on first use.
  absl::StatusOr<size_t> TopicIndex(const std::string& name) {
    auto [it, added] = topic_index_.try_emplace(name, topics_.size());
    if (added) {
      kafka::TopicPtr handle(rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr));
      if (handle == nullptr) {
        topic_index_.erase(it);
        return Fail(kafka::DeliveryError(rd_kafka_last_error(), name));
      }
      topics_.push_back(Topic{name, std::move(handle)});
    }
    return it->second;
  }
  absl::StatusOr<size_t> TopicOf(const v1::Relation& relation) {
    return TopicIndex(
        kafka::TableTopic(options_.topic_prefix, relation.schema(), relation.table()));
  }
  // The table's topic and serialized description, made once per table version.
  absl::StatusOr<const TableOut*> Out(const v1::Relation& relation) {
    auto it = tables_.find(RelationOid(relation.oid()));
    if (it != tables_.end()) return &it->second;
    TableOut out;
    WALSHIP_ASSIGN_OR_RETURN(out.topic, TopicOf(relation));
    v1::Event only;
    *only.mutable_relation() = relation;
    out.relation_field = only.SerializeAsString();
    return &tables_.emplace(RelationOid(relation.oid()), std::move(out)).first->second;
  }

  HeadersPtr EventHeaders(const v1::Event& event, absl::string_view op, const Txn& t) const {
    return MakeHeaders(kafka::PositionHeader(proto::PositionOf(event)), t.xid, op);
  }

  // The event as published: with `relation`, the table's whole description, in place of the
  // reference the stream carries; the bytes are the event's serialization with the
  // reference's field swapped for the description's, serialized once per table version (the
  // same bytes as copying the description into a copy of the event, without copying every
  // row and description per event).
  std::string EventBytes(const v1::Event& event, const v1::Relation& relation,
                         const TableOut& out) {
    std::string bytes = event.SerializeAsString();
    if (&relation != &event.relation()) {
      if (!kafka::ReplaceField(v1::Event::kRelationFieldNumber, out.relation_field, &bytes)) {
        v1::Event out = event;
        *out.mutable_relation() = relation;
        return out.SerializeAsString();
      }
    }
    return bytes;
  }

  absl::Status ProduceEvent(const v1::Event& event, Txn& t) {
    ++t.events;
    switch (event.op()) {
      case v1::INSERT:
      case v1::UPDATE:
      case v1::DELETE: {
        WALSHIP_ASSIGN_OR_RETURN(const v1::Relation* relation, Describe(event.relation(), event));
        WALSHIP_ASSIGN_OR_RETURN(const TableOut* out, Out(*relation));
        const size_t topic = out->topic;
        std::optional<std::string> key = kafka::EncodeRowKey(*relation, *kafka::KeyRow(event));
        // An UPDATE that changes the key: the row is gone under its old key, which a
        // compacted topic must forget (tombstone under the old key, in that key's partition,
        // before the event under the new key).
        if (event.op() == v1::UPDATE && options_.tombstones_on_delete && event.has_old_row()) {
          std::optional<std::string> old_key = kafka::EncodeRowKey(*relation, event.old_row());
          if (old_key.has_value() && old_key != key) {
            WALSHIP_RETURN_IF_ERROR(Produce(topic, old_key, std::nullopt,
                                            EventHeaders(event, "TOMBSTONE", t), t,
                                            /*count=*/false));
          }
        }
        WALSHIP_RETURN_IF_ERROR(Produce(topic, key, EventBytes(event, *relation, *out),
                                        EventHeaders(event, proto::OperationName(event.op()), t),
                                        t));
        if (event.op() == v1::DELETE && options_.tombstones_on_delete && key.has_value()) {
          WALSHIP_RETURN_IF_ERROR(Produce(topic, key, std::nullopt,
                                          EventHeaders(event, "TOMBSTONE", t), t,
                                          /*count=*/false));
        }
        return absl::OkStatus();
      }
      case v1::TRUNCATE: {
        v1::Event out = event;
        std::vector<const v1::Relation*> truncated;
        if (event.truncate().relations().empty()) {
          WALSHIP_ASSIGN_OR_RETURN(const v1::Relation* relation, Describe(event.relation(), event));
          *out.mutable_truncate()->add_relations() = *relation;
        }
        for (v1::Relation& relation : *out.mutable_truncate()->mutable_relations()) {
          WALSHIP_ASSIGN_OR_RETURN(const v1::Relation* full, Describe(relation, event));
          if (full != &relation) relation = *full;
        }
        for (const v1::Relation& relation : out.truncate().relations()) {
          // Each table's topic gets the event with that table as its relation.
          *out.mutable_relation() = relation;
          WALSHIP_ASSIGN_OR_RETURN(size_t topic, TopicOf(relation));
          WALSHIP_RETURN_IF_ERROR(Produce(topic, std::nullopt, out.SerializeAsString(),
                                          EventHeaders(event, "TRUNCATE", t), t));
        }
        return absl::OkStatus();
      }
      case v1::MESSAGE: {
        WALSHIP_ASSIGN_OR_RETURN(size_t topic,
                                 TopicIndex(kafka::MessagesTopic(options_.topic_prefix)));
        WALSHIP_RETURN_IF_ERROR(Produce(topic, event.message().prefix(), event.SerializeAsString(),
                                        EventHeaders(event, "MESSAGE", t), t));
        return absl::OkStatus();
      }
      default:
        return absl::InternalError(absl::StrFormat(
            "kafka: event %s has no known operation (%d)",
            kafka::PositionHeader(proto::PositionOf(event)), event.op()));
    }
  }

  absl::Status ProduceMarker(v1::TransactionMarker::Kind kind, Txn& t) {
    const proto::TransactionInfo& info = *t.info;
    v1::TransactionMarker marker;
    marker.set_kind(kind);
    marker.set_xid(info.xid.value());
    marker.set_commit_lsn(info.commit_lsn.value());
    marker.set_end_lsn(info.end_lsn.value());
    marker.set_commit_time_us(info.commit_time_us);
    bool begin = kind == v1::TransactionMarker::BEGIN;
    marker.set_event_count(begin ? info.event_count : t.events);
    if (!begin) {
      for (const auto& [topic, count] : t.per_topic) {
        (*marker.mutable_per_table_counts())[topics_[topic].name] = count;
      }
    }
    uint32_t sequence = begin ? 0 : static_cast<uint32_t>(t.events + 1);
    if (!transactions_topic_.has_value()) {
      WALSHIP_ASSIGN_OR_RETURN(transactions_topic_,
                               TopicIndex(kafka::TransactionsTopic(options_.topic_prefix)));
    }
    const size_t topic = *transactions_topic_;
    return Produce(topic, t.xid, SerializeDeterministic(marker),
                   MakeHeaders(kafka::PositionHeader(EventPosition{info.commit_lsn, sequence}),
                               t.xid, begin ? "BEGIN" : "END"),
                   t, /*count=*/false);
  }

  // Hands one message to librdkafka (copied). Blocks, polling, while more than
  // max_buffered_bytes are undelivered or librdkafka's queue is full.
  // Counts the message in the transaction's per-topic counts when `count` (row, TRUNCATE and
  // message events; not markers or tombstones).
  absl::Status Produce(size_t topic, const std::optional<std::string>& key,
                       const std::optional<std::string>& value, HeadersPtr headers, Txn& t,
                       bool count = true) {
    while (buffered_bytes_ > options_.max_buffered_bytes && error_.ok()) {
      rd_kafka_poll(rk_.get(), kBlockingPollMs);
    }
    if (!error_.ok()) return error_;
    uint64_t bytes = (key ? key->size() : 0) + (value ? value->size() : 0);
    void* ticket = reinterpret_cast<void*>(static_cast<uintptr_t>(t.ticket));
    // The RD_KAFKA_V_* macros cast their arguments unparenthesized: pass plain names.
    const char* key_data = key ? key->data() : nullptr;
    size_t key_size = key ? key->size() : 0;
    char* value_data = value ? const_cast<char*>(value->data()) : nullptr;
    size_t value_size = value ? value->size() : 0;
    rd_kafka_topic_t* rkt = topics_[topic].handle.get();
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(key_data, key_size),
          RD_KAFKA_V_VALUE(value_data, value_size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(ticket), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        headers.release();  // the message owns them now
        tracker_.AddMessage(t.ticket);
        buffered_bytes_ += bytes;
        if (count) ++t.per_topic[topic];
        return absl::OkStatus();
      }
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk_.get(), kBlockingPollMs);
        if (!error_.ok()) return error_;
        continue;
      }
      rd_kafka_poll(rk_.get(), 0);  // a fatal error's reason arrives through OnError
      if (!error_.ok()) return error_;
      return Fail(kafka::DeliveryError(err, topics_[topic].name));
    }
  }

  void Shutdown() {
    if (rk_ == nullptr) return;
    closing_ = true;
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_.get(), 0);
    topics_.clear();  // the handles go before the producer
    rk_.reset();
  }

  const KafkaSinkOptions options_;
  ProducerPtr rk_;
  DeliveryTracker tracker_;
  absl::flat_hash_map<RelationOid, v1::Relation> relations_;
  absl::flat_hash_map<RelationOid, TableOut> tables_;
  std::vector<Topic> topics_;
  absl::flat_hash_map<std::string, size_t> topic_index_;
  std::optional<size_t> transactions_topic_;
  uint64_t buffered_bytes_ = 0;
  bool closing_ = false;
  absl::Status error_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> OpenKafkaSink(KafkaSinkOptions options) {
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka: no bootstrap servers; pass --kafka HOST:PORT");
  }
  if (options.topic_prefix.empty()) {
    return absl::InvalidArgumentError("kafka: empty topic prefix; pass --topic-prefix");
  }
  if (options.max_buffered_bytes == 0 || options.delivery_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "kafka: max buffered bytes and delivery timeout must be positive");
  }
  WALSHIP_ASSIGN_OR_RETURN(std::vector<kafka::Setting> cli,
                           kafka::ParseCommandLineSettings(options.settings));
  std::vector<kafka::Setting> file;
  if (!options.properties_file.empty()) {
    WALSHIP_ASSIGN_OR_RETURN(file, kafka::ReadPropertiesFile(options.properties_file));
  }
  const std::vector<kafka::Setting> defaults = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", "walship"},
      {"compression.codec", "zstd"},
      {"linger.ms", "5"},
      {"message.timeout.ms", absl::StrCat(ToMillis(options.delivery_timeout))},
      // Keys hash exactly as with librdkafka's default (CRC32), but null keys (TRUNCATE,
      // tables without key columns) go to one fixed partition instead of a random one:
      // a null-keyed message re-sent after a crash lands where its first copy did, so a
      // per-partition duplicate filter drops it, and key-less rows keep their order.
      {"partitioner", "consistent"},
  };
  WALSHIP_ASSIGN_OR_RETURN(kafka::ConfPtr conf, kafka::BuildProducerConf(defaults, file, cli));

  auto sink = std::make_unique<KafkaSink>(options);
  rd_kafka_conf_set_opaque(conf.get(), sink.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::OnDelivery);
  rd_kafka_conf_set_error_cb(conf.get(), &KafkaSink::OnError);
  rd_kafka_conf_set_log_cb(conf.get(), &KafkaSink::OnLog);
  char err[512] = {0};
  ProducerPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err)));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka: cannot create the producer: ", err));
  }
  conf.release();  // rd_kafka_new took it
  sink->Attach(std::move(rk));

  if (options.connect_timeout > absl::ZeroDuration()) {
    const rd_kafka_metadata_t* raw = nullptr;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(sink->producer(), /*all_topics=*/0, nullptr, &raw,
                                               static_cast<int>(ToMillis(options.connect_timeout)));
    kafka::MetadataPtr metadata(raw);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrFormat(
          "kafka: no broker of \"%s\" answered within %s: %s; check --kafka and that the "
          "cluster is up",
          options.bootstrap_servers, absl::FormatDuration(options.connect_timeout),
          rd_kafka_err2str(rc)));
    }
  }
  LogInfo("kafka: producing to \"%s\" with topic prefix \"%s\"", options.bootstrap_servers,
          kafka::SanitizeTopicPart(options.topic_prefix));
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace walship::sinks
