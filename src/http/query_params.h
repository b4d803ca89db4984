/*
 * query_params.h - the parameters of GET /api/v1/query.
 *
 *   name      exact metric name, repeatable (at most 64)
 *   match     label matcher, repeatable (at most 32, see match_params.h)
 *   from, to  times as for since/until of GET /metrics; to defaults to
 *             now, from to to - 1h; from <= to
 *   step      a duration (10s, 1m, 500ms) or plain seconds (15, 0.5); at
 *             least 1ms; by default (to - from) / 300 rounded up to a
 *             whole second, at least 1s
 *   agg       avg (default), min, max, sum, count, last, rate, p50, p90,
 *             p95, p99
 *   group_by  label keys (or __name__), comma-separated and/or repeated;
 *             at most 32, no duplicates
 * At least one name or match is required. Every refusal is SB_EINVAL (or
 * SB_ETOOLARGE for the query string's own limits) with a message naming
 * the parameter.
 */
#ifndef SB_HTTP_QUERY_PARAMS_H
#define SB_HTTP_QUERY_PARAMS_H

#include "http/params.h"
#include "store/aggregate.h"

#include <stddef.h>
#include <stdint.h>

#define SB_STEP_MIN_NS 1000000LL /* 1ms */

typedef struct sb_query_params {
    char **names; /* owned */
    size_t nnames;
    sb_match_params match;
    char *group_texts[SB_PARAMS_MAX]; /* owned group_by values, split */
    size_t ngroup_texts;
    const char *group_by[SB_GROUP_BY_MAX]; /* sorted; into group_texts */
    size_t ngroup_by;
    int64_t from_ns, to_ns, step_ns;
    int agg; /* enum sb_agg_kind */
} sb_query_params;

int sb__query_params_parse(const char *raw, size_t len, int64_t now_ns,
                           sb_query_params *out, char *err, size_t errlen);
void sb__query_params_free(sb_query_params *p);

/* Fills a range query from parsed parameters (which it borrows). */
void sb__query_params_to_range(const sb_query_params *p, sb_range_query *q);

#endif
