// Owners for librdkafka's C handles, so that every handle has an owner from its first line.
//
//   ConfPtr conf(rd_kafka_conf_new());
//   ProducerPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err)));
//   if (rk != nullptr) conf.release();  // rd_kafka_new took the configuration
//
// ProducerPtr destroys the handle without flushing: the owner flushes (or purges) first.
#ifndef WALSHIP_SINKS_KAFKA_RDKAFKA_HANDLES_H_
#define WALSHIP_SINKS_KAFKA_RDKAFKA_HANDLES_H_

#include <librdkafka/rdkafka.h>

#include <memory>

namespace walship::sinks::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct ProducerDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const {
    rd_kafka_metadata_destroy(metadata);
  }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using ProducerPtr = std::unique_ptr<rd_kafka_t, ProducerDeleter>;
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;
// A topic handle: destroyed before its producer.
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

}  // namespace walship::sinks::kafka

#endif  // WALSHIP_SINKS_KAFKA_RDKAFKA_HANDLES_H_
