/*
 * query_json.c - the body of GET /api/v1/query (see query_json.h).
 *
 * Each value is written straight into space reserved in the output
 * buffer, like the points encoder does: "[<time>,<value>]" needs at most
 * SB_UNIX_SECONDS_MAX + SB_DOUBLE_MAX + 6 bytes (brackets, comma, the
 * quotes of a non-finite value, the NUL the formatters write).
 */
#include "encode/query_json.h"

#include "encode/json.h"
#include "scoreboard.h"

#include <math.h>
#include <string.h>

#define NS_PER_SEC 1000000000ULL

size_t sb__fmt_unix_seconds(int64_t ns, char *out)
{
    uint64_t mag = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t sec = mag / NS_PER_SEC, frac = mag % NS_PER_SEC;
    char tmp[24];
    size_t n = 0, t = 0;

    if (ns < 0)
        out[n++] = '-';
    do {
        tmp[t++] = (char)('0' + sec % 10);
        sec /= 10;
    } while (sec > 0);
    while (t > 0)
        out[n++] = tmp[--t];
    if (frac > 0) {
        int digits = 9;

        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        out[n++] = '.';
        for (int i = digits - 1; i >= 0; i--) {
            out[n + (size_t)i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        n += (size_t)digits;
    }
    out[n] = '\0';
    return n;
}

static int append_seconds(sb_buf *b, const char *key, int64_t ns)
{
    char num[SB_UNIX_SECONDS_MAX + 1];
    size_t n = sb__fmt_unix_seconds(ns, num);
    int rc = sb__buf_append_str(b, key);

    return rc == SB_OK ? sb__buf_append(b, num, n) : rc;
}

/* {"name":"...","labels":{...},"values":[ */
static int append_head(sb_buf *b, const sb_agg_series *s)
{
    const char *p = s->key;
    int rc;

    rc = sb__buf_append_str(b, "{\"name\":");
    if (rc == SB_OK)
        rc = sb__json_append_string(b, p, strlen(p));
    if (rc == SB_OK)
        rc = sb__buf_append_str(b, ",\"labels\":{");
    p += strlen(p) + 1;
    for (size_t i = 0; i < s->nlabels && rc == SB_OK; i++) {
        const char *v = p + strlen(p) + 1;

        if (i > 0)
            rc = sb__buf_append_char(b, ',');
        if (rc == SB_OK)
            rc = sb__json_append_string(b, p, strlen(p));
        if (rc == SB_OK)
            rc = sb__buf_append_char(b, ':');
        if (rc == SB_OK)
            rc = sb__json_append_string(b, v, strlen(v));
        p = v + strlen(v) + 1;
    }
    if (rc == SB_OK)
        rc = sb__buf_append_str(b, "},\"values\":[");
    return rc;
}

static int append_value(sb_buf *b, const sb_agg_value *v, bool first)
{
    size_t at = 0;
    char *dst;
    int rc;

    rc = sb__buf_reserve(b, SB_UNIX_SECONDS_MAX + SB_DOUBLE_MAX + 8);
    if (rc != SB_OK)
        return rc;
    dst = b->data + b->len;
    if (!first)
        dst[at++] = ',';
    dst[at++] = '[';
    at += sb__fmt_unix_seconds(v->t_ns, dst + at);
    dst[at++] = ',';
    if (isfinite(v->v)) {
        at += sb__fmt_double(v->v, dst + at);
    } else {
        dst[at++] = '"';
        at += sb__fmt_double(v->v, dst + at);
        dst[at++] = '"';
    }
    dst[at++] = ']';
    b->len += at;
    b->data[b->len] = '\0';
    return SB_OK;
}

static int append_series(sb_buf *b, const sb_agg_series *s)
{
    int rc = append_head(b, s);

    for (size_t i = 0; i < s->nvals && rc == SB_OK; i++)
        rc = append_value(b, &s->vals[i], i == 0);
    if (rc == SB_OK)
        rc = sb__buf_append_str(b, "]}");
    return rc;
}

int sb__query_json(const sb_agg_result *res, int64_t from_ns, int64_t to_ns,
                   int64_t step_ns, int agg, sb_buf *out)
{
    int rc;

    rc = append_seconds(out, "{\"from\":", from_ns);
    if (rc == SB_OK)
        rc = append_seconds(out, ",\"to\":", to_ns);
    if (rc == SB_OK)
        rc = append_seconds(out, ",\"step\":", step_ns);
    if (rc == SB_OK)
        rc = sb__buf_append_str(out, ",\"agg\":");
    if (rc == SB_OK)
        rc = sb__json_append_string(out, sb__agg_names[agg],
                                    strlen(sb__agg_names[agg]));
    if (rc == SB_OK)
        rc = sb__buf_append_str(out, ",\"series\":[");
    for (size_t i = 0; i < res->nseries && rc == SB_OK; i++) {
        if (i > 0)
            rc = sb__buf_append_char(out, ',');
        if (rc == SB_OK)
            rc = append_series(out, &res->series[i]);
    }
    if (rc == SB_OK)
        rc = sb__buf_append_str(out, "]}");
    return rc;
}
