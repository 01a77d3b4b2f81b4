/* walship_mockcluster: a standalone Kafka-protocol cluster (librdkafka's mock cluster) that
 * other processes (the agent, kcat) reach over TCP on 127.0.0.1.
 *
 *   walship_mockcluster BROKERS [TOPIC:PARTITIONS:REPLICATION ...]
 *
 * Prints "BOOTSTRAP host:port,host:port,..." on stdout at once, then reads control lines on
 * stdin and answers each on stdout with "OK <rc>" (rc: the rd_kafka_resp_err_t, 0 = success)
 * or "ERR <reason>" for a line it cannot parse:
 *   down ID | up ID                       broker ID stops / resumes answering
 *   err APIKEY ERR [ERR...]               next requests of APIKEY (0 = Produce) fail with ERRs
 *   clear APIKEY                          drops the queued errors of APIKEY
 *   rtt ID MS                             broker ID answers MS milliseconds late
 *   leader TOPIC PARTITION ID             moves a partition's leader
 *   topic NAME PARTITIONS REPLICATION     creates a topic
 *   topicerr NAME ERR                     topic-level error in metadata (0 clears)
 * Exits on SIGTERM/SIGINT or at end of stdin.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
/* rdkafka.h must come first: rdkafka_mock.h refuses to compile without it. */
#include <librdkafka/rdkafka_mock.h>

#define MAX_ARGS 64

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int parse_int(const char *text, long *out) {
  char *end = NULL;
  errno = 0;
  *out = strtol(text, &end, 10);
  return errno == 0 && end != text && *end == '\0';
}

static void reply_ok(rd_kafka_resp_err_t rc) {
  printf("OK %d\n", (int)rc);
  fflush(stdout);
}

static void reply_err(const char *reason) {
  printf("ERR %s\n", reason);
  fflush(stdout);
}

static int create_topic(rd_kafka_mock_cluster_t *mc, char *spec) {
  char *name = strtok(spec, ":");
  char *parts = strtok(NULL, ":");
  char *rf = strtok(NULL, ":");
  long p = 0, r = 0;
  if (name == NULL || parts == NULL || rf == NULL || !parse_int(parts, &p) || !parse_int(rf, &r)) {
    return -1;
  }
  return (int)rd_kafka_mock_topic_create(mc, name, (int)p, (int)r);
}

/* Runs one control line; answers on stdout. */
static void handle_line(rd_kafka_mock_cluster_t *mc, char *line) {
  char *argv[MAX_ARGS];
  long num[MAX_ARGS];
  int argc = 0;
  for (char *tok = strtok(line, " \t\r"); tok != NULL && argc < MAX_ARGS;
       tok = strtok(NULL, " \t\r")) {
    argv[argc++] = tok;
  }
  if (argc == 0) return;
  const char *cmd = argv[0];
  /* Numeric arguments where every position is numeric for the command. */
  int all_numeric = 1;
  for (int i = 1; i < argc; i++) {
    if (!parse_int(argv[i], &num[i])) all_numeric = 0;
  }

  if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && argc == 2 && all_numeric) {
    reply_ok(strcmp(cmd, "down") == 0 ? rd_kafka_mock_broker_set_down(mc, (int32_t)num[1])
                                      : rd_kafka_mock_broker_set_up(mc, (int32_t)num[1]));
  } else if (strcmp(cmd, "err") == 0 && argc >= 3 && all_numeric) {
    rd_kafka_resp_err_t errs[MAX_ARGS];
    for (int i = 2; i < argc; i++) errs[i - 2] = (rd_kafka_resp_err_t)num[i];
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)num[1], (size_t)(argc - 2), errs);
    reply_ok(RD_KAFKA_RESP_ERR_NO_ERROR);
  } else if (strcmp(cmd, "clear") == 0 && argc == 2 && all_numeric) {
    rd_kafka_mock_clear_request_errors(mc, (int16_t)num[1]);
    reply_ok(RD_KAFKA_RESP_ERR_NO_ERROR);
  } else if (strcmp(cmd, "rtt") == 0 && argc == 3 && all_numeric) {
    reply_ok(rd_kafka_mock_broker_set_rtt(mc, (int32_t)num[1], (int)num[2]));
  } else if (strcmp(cmd, "leader") == 0 && argc == 4 && parse_int(argv[2], &num[2]) &&
             parse_int(argv[3], &num[3])) {
    reply_ok(rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)num[2], (int32_t)num[3]));
  } else if (strcmp(cmd, "topic") == 0 && argc == 4 && parse_int(argv[2], &num[2]) &&
             parse_int(argv[3], &num[3])) {
    reply_ok(rd_kafka_mock_topic_create(mc, argv[1], (int)num[2], (int)num[3]));
  } else if (strcmp(cmd, "topicerr") == 0 && argc == 3 && parse_int(argv[2], &num[2])) {
    rd_kafka_mock_topic_set_error(mc, argv[1], (rd_kafka_resp_err_t)num[2]);
    reply_ok(RD_KAFKA_RESP_ERR_NO_ERROR);
  } else {
    reply_err("unknown command or bad arguments");
  }
}

int main(int argc, char **argv) {
  long brokers = 0;
  if (argc < 2 || !parse_int(argv[1], &brokers) || brokers < 1) {
    fprintf(stderr, "usage: %s BROKERS [TOPIC:PARTITIONS:REPLICATION ...]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Warnings and errors only: the cluster's own client has no bootstrap servers. */
  rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    rd_kafka_conf_destroy(conf);
    fprintf(stderr, "mockcluster: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if (mc == NULL) {
    fprintf(stderr, "mockcluster: cannot create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    char spec[512];
    snprintf(spec, sizeof(spec), "%s", argv[i]);
    int rc = create_topic(mc, spec);
    if (rc != 0) {
      fprintf(stderr, "mockcluster: bad topic \"%s\" (want NAME:PARTITIONS:REPLICATION): %d\n",
              argv[i], rc);
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 2;
    }
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char buffer[8192];
  size_t used = 0;
  while (!stop_requested) {
    struct pollfd pfd = {0, POLLIN, 0};
    int ready = poll(&pfd, 1, 200);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = read(0, buffer + used, sizeof(buffer) - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* end of stdin */
    used += (size_t)n;
    buffer[used] = '\0';
    char *start = buffer;
    char *newline;
    while ((newline = strchr(start, '\n')) != NULL) {
      *newline = '\0';
      handle_line(mc, start);
      start = newline + 1;
    }
    used = (size_t)(buffer + used - start);
    memmove(buffer, start, used);
    if (used == sizeof(buffer) - 1) used = 0; /* an absurdly long line: drop it */
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
