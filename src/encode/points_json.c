/*
 * points_json.c - the bodies of GET /metrics and GET /api/v1/series.
 *
 * Every point of a series starts with the same bytes,
 * {"name":"cpu","labels":{"k":"v"},"value":, so the encoder escapes them
 * once per series at init (all prefixes in one allocation: prefix[0] is
 * its start and owns it) and per point only copies the prefix and formats
 * the value and the time straight into space reserved in the output
 * buffer: no allocation and no escaping per point. The text of the last
 * time written is kept, so a run of points with the same time (series
 * sampled on the same tick) formats it once.
 *
 * Body layout: '[' point (',' point)* ']'. The stage moves 0 -> 1 when
 * '[' is written and 1 -> 2 when ']' is; next counts the points written,
 * so the comma before a point is written exactly when next > 0.
 */
#include "encode/points_json.h"

#include "common/timeparse.h"
#include "encode/json.h"
#include "scoreboard.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_KEY     ",\"time\":\""
#define TIME_KEY_LEN (sizeof TIME_KEY - 1)

enum { STAGE_START = 0, STAGE_POINTS = 1, STAGE_DONE = 2 };

static int append_lit(sb_buf *b, const char *s)
{
    return sb__buf_append(b, s, strlen(s));
}

/*
 * Appends {"name":"...","labels":{...} for s (no closing brace). The
 * labels member is left out when the series has none, unless
 * always_labels is set.
 */
static int append_series_head(sb_buf *b, const sb_result_series *s,
                              bool always_labels)
{
    size_t i;
    int rc;

    rc = append_lit(b, "{\"name\":");
    if (rc == SB_OK)
        rc = sb__json_append_string(b, s->name, s->name_len);
    if (rc != SB_OK || (s->nlabels == 0 && !always_labels))
        return rc;

    rc = append_lit(b, ",\"labels\":{");
    for (i = 0; i < s->nlabels && rc == SB_OK; i++) {
        const sb_label *l = &s->labels[i];

        if (i > 0)
            rc = sb__buf_append_char(b, ',');
        if (rc == SB_OK)
            rc = sb__json_append_string(b, l->key, strlen(l->key));
        if (rc == SB_OK)
            rc = sb__buf_append_char(b, ':');
        if (rc == SB_OK)
            rc = sb__json_append_string(b, l->value, strlen(l->value));
    }
    if (rc == SB_OK)
        rc = sb__buf_append_char(b, '}');
    return rc;
}

/* Builds every series' prefix into one arena. */
static int build_prefixes(sb_points_enc *e)
{
    const sb_result *res = e->res;
    sb_buf arena;
    size_t i, start = 0;
    char *base;
    int rc = SB_OK;

    sb__buf_init(&arena, SIZE_MAX);
    for (i = 0; i < res->nseries && rc == SB_OK; i++) {
        rc = append_series_head(&arena, &res->series[i], false);
        if (rc == SB_OK)
            rc = append_lit(&arena, ",\"value\":");
        e->prefix_len[i] = arena.len - start;
        start = arena.len;
    }
    if (rc != SB_OK) {
        sb__buf_free(&arena);
        return rc;
    }

    base = sb__buf_steal(&arena, NULL);
    for (i = 0; i < res->nseries; i++) {
        e->prefix[i] = base;
        base += e->prefix_len[i];
    }
    return SB_OK;
}

int sb__points_enc_init(sb_points_enc *e, const sb_result *res)
{
    int rc;

    memset(e, 0, sizeof *e);
    if (res == NULL)
        return SB_EINVAL;
    e->res = res;
    if (res->nseries == 0)
        return SB_OK;

    e->prefix = calloc(res->nseries, sizeof *e->prefix);
    e->prefix_len = calloc(res->nseries, sizeof *e->prefix_len);
    if (e->prefix == NULL || e->prefix_len == NULL) {
        rc = SB_ENOMEM;
        goto out;
    }
    rc = build_prefixes(e);

out:
    if (rc != SB_OK)
        sb__points_enc_free(e);
    return rc;
}

void sb__points_enc_free(sb_points_enc *e)
{
    if (e->prefix != NULL)
        free(e->prefix[0]);
    free(e->prefix);
    free(e->prefix_len);
    e->prefix = NULL;
    e->prefix_len = NULL;
}

/*
 * Appends the next point, with its leading comma, writing directly into
 * reserved space. The reservation covers the longest value and time plus
 * the NUL each formatter writes after its text.
 */
static int put_point(sb_points_enc *e, sb_buf *out)
{
    const sb_result_point *p = &e->res->points[e->next];
    size_t plen, at = 0;
    char *dst;
    int rc;

    if (p->series >= e->res->nseries)
        return SB_EINVAL;
    plen = e->prefix_len[p->series];
    rc = sb__buf_reserve(out, 1 + plen + SB_DOUBLE_MAX + 3 + TIME_KEY_LEN +
                                  SB_RFC3339_MAX + 3);
    if (rc != SB_OK)
        return rc;

    dst = out->data + out->len;
    if (e->next > 0)
        dst[at++] = ',';
    memcpy(dst + at, e->prefix[p->series], plen);
    at += plen;
    if (isfinite(p->value)) {
        at += sb__fmt_double(p->value, dst + at);
    } else {
        dst[at++] = '"';
        at += sb__fmt_double(p->value, dst + at);
        dst[at++] = '"';
    }
    memcpy(dst + at, TIME_KEY, TIME_KEY_LEN);
    at += TIME_KEY_LEN;
    if (e->last_len == 0 || e->last_ns != p->time_ns) {
        e->last_len = sb__fmt_rfc3339(p->time_ns, e->last_text);
        e->last_ns = p->time_ns;
    }
    memcpy(dst + at, e->last_text, e->last_len);
    at += e->last_len;
    dst[at++] = '"';
    dst[at++] = '}';

    out->len += at;
    out->data[out->len] = '\0';
    e->next++;
    return SB_OK;
}

int sb__points_enc_fill(sb_points_enc *e, sb_buf *out, size_t target)
{
    bool progress = false;
    int rc;

    if (e->stage == STAGE_START) {
        rc = sb__buf_append_char(out, '[');
        if (rc != SB_OK)
            return rc;
        e->stage = STAGE_POINTS;
        progress = true;
    }
    if (e->stage == STAGE_DONE)
        return 0;

    /* Each call writes at least one piece so a caller that sends every
     * chunk always makes progress, whatever target it passes. */
    while (e->next < e->res->npoints && (!progress || out->len < target)) {
        rc = put_point(e, out);
        if (rc != SB_OK)
            return rc;
        progress = true;
    }
    if (e->next < e->res->npoints || (progress && out->len >= target))
        return 1;

    rc = sb__buf_append_char(out, ']');
    if (rc != SB_OK)
        return rc;
    e->stage = STAGE_DONE;
    return 0;
}

/* Appends ,"<key>":"<time>" */
static int append_time_member(sb_buf *b, const char *key, int64_t ns)
{
    char t[SB_RFC3339_MAX + 1];
    size_t n = sb__fmt_rfc3339(ns, t);
    int rc;

    rc = append_lit(b, key);
    if (rc == SB_OK)
        rc = sb__buf_append_char(b, '"');
    if (rc == SB_OK)
        rc = sb__buf_append(b, t, n);
    if (rc == SB_OK)
        rc = sb__buf_append_char(b, '"');
    return rc;
}

/* One element of the series listing; first and last are null for a
 * series without points in range. */
static int append_series_info(sb_buf *b, const sb_result_series *s)
{
    char num[40];
    int n, rc;

    rc = append_series_head(b, s, true);
    if (rc == SB_OK) {
        n = snprintf(num, sizeof num, ",\"points\":%zu", s->npoints);
        rc = sb__buf_append(b, num, (size_t)n);
    }
    if (rc == SB_OK && s->npoints == 0)
        rc = append_lit(b, ",\"first\":null,\"last\":null");
    if (rc == SB_OK && s->npoints > 0)
        rc = append_time_member(b, ",\"first\":", s->first_ns);
    if (rc == SB_OK && s->npoints > 0)
        rc = append_time_member(b, ",\"last\":", s->last_ns);
    if (rc == SB_OK)
        rc = sb__buf_append_char(b, '}');
    return rc;
}

int sb__series_json(const sb_result *res, sb_buf *out)
{
    size_t i;
    int rc;

    if (res == NULL)
        return SB_EINVAL;
    rc = sb__buf_append_char(out, '[');
    for (i = 0; i < res->nseries && rc == SB_OK; i++) {
        if (i > 0)
            rc = sb__buf_append_char(out, ',');
        if (rc == SB_OK)
            rc = append_series_info(out, &res->series[i]);
    }
    if (rc == SB_OK)
        rc = sb__buf_append_char(out, ']');
    return rc;
}
