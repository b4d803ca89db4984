/*
 * params.h - parsing of URL query strings.
 *
 * The raw query string (the part after '?', undecoded) is split on '&'
 * into key=value pairs; '+' means space and %XX is decoded (a '%' not
 * followed by two hex digits is an error, as is a decoded NUL byte).
 * Each route then validates its own parameters: an unknown key, a
 * repeated key that may not repeat, or a bad value is an error with a
 * message naming the parameter.
 *
 * Limits: query strings above SB_QUERY_MAX bytes and more than
 * SB_PARAMS_MAX pairs are rejected.
 */
#ifndef SB_HTTP_PARAMS_H
#define SB_HTTP_PARAMS_H

#include "scoreboard.h"
#include "store/match.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_QUERY_MAX  8192
#define SB_PARAMS_MAX 64

typedef struct sb_param {
    char *key;
    char *value;
} sb_param;

typedef struct sb_params {
    sb_param *items;
    size_t n;
} sb_params;

/* Splits and decodes raw[0..len). err (size errlen) gets a message on
 * failure (SB_EINVAL / SB_ETOOLARGE / SB_ENOMEM). */
int sb__params_parse(const char *raw, size_t len, sb_params *out, char *err,
                     size_t errlen);
void sb__params_free(sb_params *p);

/* The format parameter of GET /metrics. */
enum sb_params_format {
    SB_PARAMS_FORMAT_ANY, /* not given: negotiated from Accept */
    SB_PARAMS_FORMAT_JSON,
    SB_PARAMS_FORMAT_PROMETHEUS,
};

/* The repeatable `match` parameter (functions in http/match_params.h):
 * the decoded values, owned and cut after the key, the matchers pointing
 * into them, and their compiled set once every parameter is read. */
typedef struct sb_match_params {
    char *texts[SB_MATCHERS_MAX];
    sb_matcher m[SB_MATCHERS_MAX];
    size_t n;
    sb_matchset ms; /* valid once compiled */
    bool compiled;
} sb_match_params;

/* Parameters of GET /metrics (name, since, until, match, limit, latest,
 * format)
 * and of GET /api/v1/series (name, since, until, match). query.names
 * points into the owned names array, query.matchers into match, whose
 * compiled set match.ms is what the store query uses. */
typedef struct sb_metrics_params {
    sb_query query;
    char **names;
    size_t nnames;
    int format;        /* enum sb_params_format */
    bool latest_given; /* latest appeared (true or false) */
    sb_match_params match;
} sb_metrics_params;

enum sb_params_route {
    SB_PARAMS_METRICS,
    SB_PARAMS_SERIES,
};

int sb__metrics_params_parse(const char *raw, size_t len, int route,
                             int64_t now_ns, sb_metrics_params *out, char *err,
                             size_t errlen);
void sb__metrics_params_free(sb_metrics_params *p);

#endif
