/*
 * aggregate.h - range queries: the points of matching series over
 * [from, to], cut into buckets of a fixed step and reduced to one value
 * per bucket (GET /api/v1/query).
 *
 * Buckets are aligned to multiples of the step since the Unix epoch:
 * bucket k covers [k*step, (k+1)*step) and is reported at its start,
 * k*step. Only samples within [from, to] count; a bucket appears in the
 * output only when its aggregate is defined (see below), so empty buckets
 * are omitted.
 *
 * Aggregations of the samples of one bucket (NaN samples are ignored by
 * every aggregation except count and last):
 *   avg, sum, min, max   of the non-NaN samples; undefined when none
 *   count                samples, NaN included
 *   last                 the newest sample, NaN included
 *   p50 p90 p95 p99      nearest rank: the value at rank ceil(q*n) (from 1)
 *                        of the n non-NaN samples sorted ascending
 *   rate                 per-second increase of a counter: the sum, over
 *                        consecutive non-NaN samples a, b of the bucket
 *                        (preceded by the reference, the last non-NaN
 *                        sample of bucket k-1, when there is one, even
 *                        before from), of b - a when b >= a and of b when
 *                        b < a (a counter reset: it restarted from 0);
 *                        divided by the step in seconds. Undefined with
 *                        fewer than two such samples.
 *
 * Without group_by there is one output series per stored series. With
 * group_by (label keys; "__name__" groups by metric name), series with
 * the same values of those labels (a missing label counts as "") are
 * reduced together: avg, sum, min, max, count and the percentiles over
 * all their samples in the bucket, rate as the sum of the series' rates,
 * last as the newest sample of any of them (on equal times the greater
 * value, NaN lowest). A group's labels are its group_by labels; its name
 * is the metric name when all its series with samples in [from, to]
 * share one (always so when __name__ is grouped by), "" otherwise.
 *
 * Work is bounded: at most max_samples points are read (the points of
 * [(k0-1)*step, to] with k0 the bucket of from, so rate finds its
 * reference) and at most max_values values produced; beyond either the
 * query fails with SB_ETOOLARGE. Locks are held only while a shard's
 * points are copied out (scan.h); all reduction runs without a lock.
 */
#ifndef SB_STORE_AGGREGATE_H
#define SB_STORE_AGGREGATE_H

#include "scoreboard.h"
#include "store/match.h"
#include "store/series.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sb_agg_kind {
    SB_AGG_AVG,
    SB_AGG_MIN,
    SB_AGG_MAX,
    SB_AGG_SUM,
    SB_AGG_COUNT,
    SB_AGG_LAST,
    SB_AGG_RATE,
    SB_AGG_P50,
    SB_AGG_P90,
    SB_AGG_P95,
    SB_AGG_P99,
    SB_AGG_KINDS
};

/* "avg", "min", ... indexed by enum sb_agg_kind. */
extern const char *const sb__agg_names[SB_AGG_KINDS];
/* The kind named name, or -1. */
int sb__agg_lookup(const char *name);

#define SB_GROUP_BY_MAX 32 /* group_by keys */

typedef struct sb_range_query {
    const char *const *names; /* exact names; NULL/0 = all */
    size_t nnames;
    const sb_matchset *ms; /* NULL = no matchers */
    int64_t from_ns;       /* inclusive; from <= to */
    int64_t to_ns;         /* inclusive */
    int64_t step_ns;       /* > 0 */
    int agg;               /* enum sb_agg_kind */
    /* group_by keys: sorted ascending and distinct; NULL/0 = no grouping */
    const char *const *group_by;
    size_t ngroup_by;
    size_t max_samples; /* points read; 0 = no cap */
    size_t max_values;  /* values produced; 0 = no cap */
} sb_range_query;

typedef struct sb_agg_value {
    int64_t t_ns; /* bucket start, k*step */
    double v;
} sb_agg_value;

/* One output series: key is canonical ("name\0k1\0v1\0..."), owned. */
typedef struct sb_agg_series {
    char *key;
    size_t key_len;
    size_t nlabels;
    sb_agg_value *vals; /* oldest first; owned */
    size_t nvals;       /* at least 1 */
} sb_agg_series;

/* Series ordered by key (name, then labels). */
typedef struct sb_agg_result {
    sb_agg_series *series;
    size_t nseries;
    size_t nvalues; /* sum of nvals */
} sb_agg_result;

/* Runs q against the store into out (free it with sb__agg_result_free,
 * also after a failure). 0, SB_EINVAL (bad q), SB_ETOOLARGE or
 * SB_ENOMEM. */
int sb__range_query(sb_store *st, const sb_range_query *q, sb_agg_result *out);
void sb__agg_result_free(sb_agg_result *r);

/* floor(a / b) for b > 0. */
int64_t sb__floor_div(int64_t a, int64_t b);

#endif
