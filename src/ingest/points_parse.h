/*
 * points_parse.h - parser for POST /metrics bodies.
 *
 * The body is one point object or an array of them:
 *   {"name": "cpu", "value": 45.2, "time": "2026-12-03T18:22:13Z",
 *    "labels": {"host": "a"}}
 * name   required string
 * value  required number, or one of the strings "NaN", "+Inf", "-Inf"
 *        ("Inf" is also accepted for +Inf)
 * time   optional: RFC 3339 string or Unix seconds as a non-negative
 *        number; absent means now_ns
 * labels optional object whose values are all strings
 * Any other field is an error. Duplicate keys are an error. The parser
 * checks JSON shape and types; the store checks name and label syntax and
 * the time window.
 *
 * Limits: the body is parsed by jansson (nesting depth capped by jansson);
 * at most SB_MAX_BATCH points per body.
 */
#ifndef SB_INGEST_POINTS_PARSE_H
#define SB_INGEST_POINTS_PARSE_H

#include "scoreboard.h"

#include <stddef.h>
#include <stdint.h>

#define SB_MAX_BATCH 100000

typedef struct sb_parsed_batch {
    sb_sample *samples;
    size_t n;
    void *priv; /* keeps the strings the samples point into alive */
} sb_parsed_batch;

typedef struct sb_parse_error {
    long index;        /* the first bad point, or -1 for the body itself */
    char message[200]; /* e.g. "field 'value' must be a number" */
} sb_parse_error;

/* Parses body[0..len). On success fills out (free with
 * sb__parsed_batch_free). On failure returns SB_EINVAL or SB_ETOOLARGE
 * (too many points) with err filled, or SB_ENOMEM. */
int sb__parse_points(const char *body, size_t len, int64_t now_ns,
                     sb_parsed_batch *out, sb_parse_error *err);
void sb__parsed_batch_free(sb_parsed_batch *b);

#endif
