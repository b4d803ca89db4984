/*
 * query_json.h - the body of GET /api/v1/query.
 *
 *   {"from":1733300000,"to":1733303600,"step":10,"agg":"avg",
 *    "series":[{"name":"cpu","labels":{"k":"v"},
 *               "values":[[1733300000,45.2],[1733300010,"NaN"]]}]}
 *
 * Times and the step are Unix seconds written as exact decimals of the
 * nanosecond values (1733300000, 0.5, 1733300000.123456789): never
 * rounded through a double. Values are shortest round-trip doubles, the
 * non-finite ones as the strings "NaN", "+Inf" and "-Inf", as in
 * GET /metrics. "labels" is always present.
 */
#ifndef SB_ENCODE_QUERY_JSON_H
#define SB_ENCODE_QUERY_JSON_H

#include "common/buf.h"
#include "store/aggregate.h"

#include <stddef.h>
#include <stdint.h>

/* Longest output of sb__fmt_unix_seconds, without the NUL. */
#define SB_UNIX_SECONDS_MAX 32

/* Writes ns as decimal Unix seconds, trailing fraction zeros trimmed.
 * out holds SB_UNIX_SECONDS_MAX + 1 bytes. Returns the length. */
size_t sb__fmt_unix_seconds(int64_t ns, char *out);

/* Appends the whole body for res to out. 0, SB_ENOMEM or SB_ETOOLARGE. */
int sb__query_json(const sb_agg_result *res, int64_t from_ns, int64_t to_ns,
                   int64_t step_ns, int agg, sb_buf *out);

#endif
