/*
 * statsd.h - the StatsD aggregator and the collector that flushes it.
 *
 * The listener threads (ingest/statsd_server.c) hand every received
 * packet or TCP line to sb__statsd_agg_feed(), which parses it line by
 * line and folds each metric into a table keyed by (type, name, sorted
 * tags). Every collector tick, sb__statsd_agg_flush() writes the
 * interval's aggregates and the receiver's self-metrics into the store
 * and starts a new interval. Series names and units are documented in
 * README.md ("StatsD").
 *
 * Memory is bounded by the limits below: the number of keys, the samples
 * one timer keeps for its quantiles, the members one set remembers, and
 * a global budget on timer samples plus set members per interval.
 */
#ifndef SB_COLLECT_STATSD_H
#define SB_COLLECT_STATSD_H

#include "collect/collector.h"
#include "common/log.h"
#include "ingest/statsd_parse.h"
#include "scoreboard.h"

#include <stddef.h>
#include <stdint.h>

enum sb_statsd_transport { SB_STATSD_UDP, SB_STATSD_TCP, SB_STATSD_NTRANS };

/* Why a line, packet or connection was dropped (the `reason` label of
 * scoreboard_statsd_dropped_total). */
enum sb_statsd_drop {
    SB_STATSD_DROP_KERNEL,     /* datagram dropped by a full socket buffer */
    SB_STATSD_DROP_KEY_LIMIT,  /* a new key past max_keys */
    SB_STATSD_DROP_SET_LIMIT,  /* a set member past set_max or the budget */
    SB_STATSD_DROP_CONN_LIMIT, /* a TCP connection past the limit */
    SB_STATSD_NDROP
};

typedef struct sb_statsd_limits {
    size_t max_keys;       /* distinct keys held; default 10,000 */
    size_t reservoir;      /* samples per timer per interval; 4,096 */
    size_t set_max;        /* members per set per interval; 65,536 */
    size_t max_values;     /* samples + members per interval; 4 Mi */
    unsigned idle_flushes; /* counters/gauges forgotten after; 300 */
} sb_statsd_limits;

void sb__statsd_limits_init(sb_statsd_limits *lim);

typedef struct sb_statsd_agg sb_statsd_agg;

/* Creates an aggregator. lim may be NULL for the defaults; log is
 * copied (may be NULL). The caller frees it with sb__statsd_agg_destroy
 * once no thread feeds or flushes it any more. */
int sb__statsd_agg_create(const sb_statsd_limits *lim, const sb_logger *log,
                          sb_statsd_agg **out);
void sb__statsd_agg_destroy(sb_statsd_agg *agg);

/*
 * Splits buf[0..len) at '\n' and adds every line; empty lines are
 * skipped, a malformed line is counted, logged (rate-limited) and does
 * not affect the other lines. All lines of one call land in the same
 * flush interval. scratch is the calling thread's own line buffer
 * (large: keep one per thread). Thread-safe.
 */
void sb__statsd_agg_feed(sb_statsd_agg *agg, int transport, const char *buf,
                         size_t len, sb_statsd_line *scratch);

/* Adds one parsed line. 0, SB_ELIMIT when the key table is full (the
 * line is counted as dropped), or SB_ERANGE when it would make a running
 * total or sum non-finite (nothing changes). Thread-safe. */
int sb__statsd_agg_add(sb_statsd_agg *agg, const sb_statsd_line *line);

/* Counts and logs (rate-limited) a line refused before parsing, e.g. a
 * TCP line over SB_STATSD_LINE_MAX. */
void sb__statsd_agg_malformed(sb_statsd_agg *agg, int transport,
                              const char *reason, const char *line, size_t len);

/* Receiver statistics, all thread-safe. */
void sb__statsd_agg_count_packets(sb_statsd_agg *agg, uint64_t n);
void sb__statsd_agg_count_drop(sb_statsd_agg *agg, int reason, uint64_t n);
void sb__statsd_agg_count_connection(sb_statsd_agg *agg, int delta);

/*
 * Writes the aggregates of the interval and the self-metrics stamped
 * now_ns, then starts a new interval. Samples of one key are written as
 * one batch; a refused batch (e.g. --max-series) is counted in
 * scoreboard_statsd_write_errors_total and the others still go in.
 * Returns 0 or the first store error.
 */
int sb__statsd_agg_flush(sb_statsd_agg *agg, sb_store *store, int64_t now_ns);

/* Read-only counters, for tests. */
typedef struct sb_statsd_stats {
    uint64_t packets;
    uint64_t lines[SB_STATSD_NTRANS];
    uint64_t malformed[SB_STATSD_NTRANS];
    uint64_t dropped[SB_STATSD_NDROP];
    uint64_t write_errors;
    size_t keys;
} sb_statsd_stats;

void sb__statsd_agg_stats(sb_statsd_agg *agg, sb_statsd_stats *out);

/* A collector that flushes agg every tick. agg is borrowed: it must
 * outlive the collector (destroy is NULL). */
int sb__collector_statsd(sb_statsd_agg *agg, sb_collector *out);

#endif
