/*
 * points_json.h - JSON bodies of GET /metrics and GET /api/v1/series.
 *
 * The points encoder is incremental: each call appends the next points
 * until the buffer reaches a target size, so the HTTP layer can send a
 * large result in chunks without building the whole body in memory and
 * without holding any store lock (the result is a private snapshot).
 *
 * Point format (one array element):
 *   {"name":"cpu","labels":{"k":"v"},"value":45.2,"time":"2026-...Z"}
 * "labels" is omitted when the series has none.
 */
#ifndef SB_ENCODE_POINTS_JSON_H
#define SB_ENCODE_POINTS_JSON_H

#include "common/buf.h"
#include "common/timeparse.h"
#include "store/result.h"

typedef struct sb_points_enc {
    const sb_result *res; /* borrowed */
    size_t next;          /* next point index to write */
    int stage;            /* 0 = before '[', 1 = points, 2 = done */
    char **prefix;        /* per series: '{"name":...,"labels":{...},' */
    size_t *prefix_len;
    /* The last time formatted and its text: points come in time order and
     * series sampled together share times, so most points reuse it. */
    int64_t last_ns;
    size_t last_len; /* 0 = nothing cached yet */
    char last_text[SB_RFC3339_MAX + 1];
} sb_points_enc;

int sb__points_enc_init(sb_points_enc *e, const sb_result *res);
/* Appends output until out->len >= target or the body is complete.
 * Returns 1 when more remains, 0 when the body is complete, <0 on error. */
int sb__points_enc_fill(sb_points_enc *e, sb_buf *out, size_t target);
void sb__points_enc_free(sb_points_enc *e);

/* The whole /api/v1/series body: an array of
 * {"name":..,"labels":{..},"points":N,"first":"..","last":".."}. */
int sb__series_json(const sb_result *res, sb_buf *out);

#endif
