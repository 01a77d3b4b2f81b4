// The Kafka sink: ships every committed transaction to Kafka through librdkafka's
// idempotent producer (acks=all) and reports as durable the transactions whose every
// message got a successful delivery report.
//
// What lands where (the consumers' contract; message schemas in proto/walship.proto):
//   <prefix>.<schema>.<table>  INSERT/UPDATE/DELETE: key v1::RowKey of the replica-identity
//                              columns (null for tables without key columns), value
//                              v1::Event with its complete Relation. TRUNCATE: one message
//                              per truncated table, null key. With tombstones_on_delete, a
//                              DELETE is followed by a null-valued message with its key,
//                              and an UPDATE that changes the key is preceded by one with
//                              the old key.
//   <prefix>.messages          logical messages (marks, DDL), key = the message's prefix.
//   <prefix>.transactions      v1::TransactionMarker BEGIN and END per transaction, key =
//                              the decimal xid; END counts the messages per topic.
// Headers on every message: walship.position ("<16 hex commit LSN>:<sequence>"; BEGIN is
// sequence 0, END is event_count + 1), walship.xid (decimal), walship.op (INSERT, UPDATE,
// DELETE, TRUNCATE, MESSAGE, TOMBSTONE, BEGIN, END). Names are sanitized: characters outside
// [A-Za-z0-9._-] become '_'. Per-key order holds: the partitioner hashes the key (CRC32,
// librdkafka's "consistent"; null keys all go to one partition) and the idempotent producer
// keeps order within a partition across retries.
#ifndef WALSHIP_SINKS_KAFKA_KAFKA_SINK_H_
#define WALSHIP_SINKS_KAFKA_KAFKA_SINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/core/clock.h"
#include "sinks/sink.h"

namespace walship::sinks {

struct KafkaSinkOptions {
  // bootstrap.servers: "host:port,host:port". Required.
  std::string bootstrap_servers;
  // First part of every topic name; the agent passes the source database name by default.
  // Required.
  std::string topic_prefix;
  // librdkafka settings as "key=value" (--kafka-config). Secret settings (sasl.password,
  // ssl.key.password, ...) are refused here: they go in the properties file.
  std::vector<std::string> settings;
  // A properties file (key=value lines, '#' comments) applied before `settings`; the place
  // for TLS and SASL secrets. Empty for none.
  std::string properties_file;
  // Send a tombstone (same key, null value) after each DELETE of a keyed row, and under the
  // old key before an UPDATE that changes the key, for compacted topics.
  bool tombstones_on_delete = false;
  // Bytes of keys and values produced and not yet delivered before Write() blocks, polling
  // delivery reports, until the producer drains below it.
  uint64_t max_buffered_bytes = 64ull << 20;
  // message.timeout.ms: how long librdkafka retries a message (brokers down, leaderless
  // partitions) before its delivery fails and the sink fails with kUnavailable. A setting
  // in `settings` or the properties file overrides it.
  absl::Duration delivery_timeout = absl::Minutes(5);
  // OpenKafkaSink() asks the cluster for metadata and fails with kUnavailable when no
  // broker answers within this time; zero skips the check.
  absl::Duration connect_timeout = absl::Seconds(10);
  // Poll and flush deadlines; must outlive the sink.
  Clock* clock = &SystemClock();
};

// Creates the producer. kInvalidArgument for a missing bootstrap or prefix, an unreadable
// properties file, a secret in `settings`, an unknown or invalid librdkafka setting (with
// librdkafka's reason) or one contradicting enable.idempotence=true / acks=all;
// kUnavailable when no broker answers within connect_timeout.
//
// The sink follows sinks/sink.h: call it from one thread. Write() blocks while more than
// max_buffered_bytes are undelivered. After any error (a failed delivery, a fatal producer
// error) every call returns that error and the watermark stays below the failed
// transaction. Close() flushes until its deadline, then destroys the producer; messages
// still undelivered then are dropped and never count as durable.
absl::StatusOr<std::unique_ptr<Sink>> OpenKafkaSink(KafkaSinkOptions options);

}  // namespace walship::sinks

#endif  // WALSHIP_SINKS_KAFKA_KAFKA_SINK_H_
