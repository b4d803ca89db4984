/*
 * params.c - query string splitting and the parameters of the read
 * routes.
 *
 * sb__params_parse turns the raw query into an array of decoded,
 * NUL-terminated key/value copies, in order of appearance. Since a
 * decoded byte is never longer than its encoding, each copy is allocated
 * at its raw length plus one and filled in one pass. Nothing is returned
 * half-built: on any error every copy made so far is freed.
 *
 * sb__metrics_params_parse then checks each pair against the route's
 * table of allowed keys. The owned strings of the name parameters are
 * moved out of the pair array into the result, so query.names stays
 * valid after the pairs are freed.
 */
#include "http/params.h"

#include "common/quote.h"
#include "common/timeparse.h"
#include "http/match_params.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_MAX 10000000
#define NAMES_MAX 64
#define QUOTE_MAX 40

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes s[0..n) ('+' is a space, %XX a byte) into a new string in *out.
 * A malformed escape or a NUL byte, raw or decoded, is SB_EINVAL.
 */
static int decode(const char *s, size_t n, char **out, char *err, size_t errlen)
{
    char *d = malloc(n + 1);
    size_t o = 0;
    int hi, lo;

    if (d == NULL)
        return SB_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(d);
                set_err(err, errlen, "invalid percent-escape in query string");
                return SB_EINVAL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            free(d);
            set_err(err, errlen, "query string contains a NUL byte");
            return SB_EINVAL;
        }
        d[o++] = c;
    }
    d[o] = '\0';
    *out = d;
    return 0;
}

/* Decodes one non-empty '&'-separated piece into p. */
static int parse_pair(const char *s, size_t n, sb_param *p, char *err,
                      size_t errlen)
{
    const char *eq = memchr(s, '=', n);
    size_t klen = eq != NULL ? (size_t)(eq - s) : n;
    int rc;

    rc = decode(s, klen, &p->key, err, errlen);
    if (rc != 0)
        return rc;
    if (p->key[0] == '\0') {
        set_err(err, errlen, "empty parameter name in query string");
        return SB_EINVAL;
    }
    if (eq == NULL)
        return decode("", 0, &p->value, err, errlen);
    return decode(eq + 1, n - klen - 1, &p->value, err, errlen);
}

/* Number of non-empty pieces between '&'s. */
static size_t count_pieces(const char *raw, size_t len)
{
    size_t count = 0, start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || raw[i] == '&') {
            if (i > start)
                count++;
            start = i + 1;
        }
    }
    return count;
}

int sb__params_parse(const char *raw, size_t len, sb_params *out, char *err,
                     size_t errlen)
{
    size_t count, start = 0;
    int rc = 0;

    out->items = NULL;
    out->n = 0;
    if (len > SB_QUERY_MAX) {
        set_err(err, errlen, "query string longer than %d bytes", SB_QUERY_MAX);
        return SB_ETOOLARGE;
    }
    count = len > 0 ? count_pieces(raw, len) : 0;
    if (count > SB_PARAMS_MAX) {
        set_err(err, errlen, "more than %d query parameters", SB_PARAMS_MAX);
        return SB_ETOOLARGE;
    }
    if (count == 0)
        return 0;
    out->items = calloc(count, sizeof(sb_param));
    if (out->items == NULL)
        return SB_ENOMEM;

    for (size_t i = 0; i <= len && rc == 0; i++) {
        if (i < len && raw[i] != '&')
            continue;
        if (i > start) {
            /* Counted before the parse so a failure frees this pair too. */
            out->n++;
            rc = parse_pair(raw + start, i - start, &out->items[out->n - 1],
                            err, errlen);
        }
        start = i + 1;
    }
    if (rc != 0)
        sb__params_free(out);
    return rc;
}

void sb__params_free(sb_params *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].key);
        free(p->items[i].value);
    }
    free(p->items);
    p->items = NULL;
    p->n = 0;
}

/* ------------------------------------------------------- route params */

/* The keys the read routes know; each route allows a subset. */
enum key_id { K_NAME, K_SINCE, K_UNTIL, K_LIMIT, K_LATEST, K_FORMAT, K_COUNT };

static const char *const key_names[K_COUNT] = {"name",  "since",  "until",
                                               "limit", "latest", "format"};

static int key_lookup(const char *key, int route)
{
    int n = route == SB_PARAMS_METRICS ? K_COUNT : K_LIMIT;

    for (int i = 0; i < n; i++) {
        if (strcmp(key, key_names[i]) == 0)
            return i;
    }
    return -1;
}

static int parse_time_param(const char *key, const char *v, int64_t now_ns,
                            int64_t *out, char *err, size_t errlen)
{
    int rc = sb__parse_time(v, strlen(v), now_ns, out);

    if (rc == SB_ERANGE) {
        set_err(err, errlen, "%s: time out of range", key);
        return SB_EINVAL;
    }
    if (rc != 0) {
        set_err(err, errlen,
                "%s: expected RFC 3339, Unix seconds or a relative time "
                "like -5m",
                key);
        return SB_EINVAL;
    }
    return 0;
}

/* A plain decimal integer from 1 to LIMIT_MAX: no sign, no spaces. */
static int parse_limit(const char *v, size_t *out, char *err, size_t errlen)
{
    size_t x = 0, i;

    for (i = 0; v[i] >= '0' && v[i] <= '9'; i++) {
        x = x * 10 + (size_t)(v[i] - '0');
        if (x > LIMIT_MAX)
            break;
    }
    if (i == 0 || v[i] != '\0' || x < 1 || x > LIMIT_MAX) {
        set_err(err, errlen, "limit: expected an integer from 1 to %d",
                LIMIT_MAX);
        return SB_EINVAL;
    }
    *out = x;
    return 0;
}

/* true, false, 1 or 0; a bare "latest" (empty value) means true, as a
 * flag in a URL usually does. */
static int parse_bool(const char *v, bool *out, char *err, size_t errlen)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || v[0] == '\0') {
        *out = true;
        return 0;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 0;
    }
    set_err(err, errlen, "latest: expected true, false, 1 or 0");
    return SB_EINVAL;
}

/* prometheus or json. */
static int parse_format(const char *v, int *out, char *err, size_t errlen)
{
    if (strcmp(v, "prometheus") == 0) {
        *out = SB_PARAMS_FORMAT_PROMETHEUS;
        return 0;
    }
    if (strcmp(v, "json") == 0) {
        *out = SB_PARAMS_FORMAT_JSON;
        return 0;
    }
    set_err(err, errlen, "format: expected prometheus or json");
    return SB_EINVAL;
}

/* Takes ownership of a name parameter's value into out->names. */
static int add_name(sb_param *p, sb_metrics_params *out, char *err,
                    size_t errlen)
{
    if (p->value[0] == '\0') {
        set_err(err, errlen, "name: must not be empty");
        return SB_EINVAL;
    }
    if (out->nnames == NAMES_MAX) {
        set_err(err, errlen, "name: given more than %d times", NAMES_MAX);
        return SB_EINVAL;
    }
    out->names[out->nnames++] = p->value;
    p->value = NULL;
    return 0;
}

/* Applies one decoded pair; seen[] tracks the non-repeatable keys. */
static int apply_param(sb_param *p, int route, int64_t now_ns, bool *seen,
                       sb_metrics_params *out, char *err, size_t errlen)
{
    char q[SB_QUOTE_BUF(QUOTE_MAX)];
    int id = key_lookup(p->key, route);

    if (strcmp(p->key, "match") == 0) /* both routes; repeatable */
        return sb__match_param_add(&out->match, p, err, errlen);
    if (id < 0) {
        set_err(err, errlen, "unknown parameter '%s'",
                sb__quote_bytes(p->key, strlen(p->key), QUOTE_MAX, '\'', q,
                                sizeof q));
        return SB_EINVAL;
    }
    if (id == K_NAME)
        return add_name(p, out, err, errlen);
    if (seen[id]) {
        set_err(err, errlen, "parameter '%s' given more than once",
                key_names[id]);
        return SB_EINVAL;
    }
    seen[id] = true;
    switch (id) {
    case K_SINCE:
        return parse_time_param("since", p->value, now_ns, &out->query.since_ns,
                                err, errlen);
    case K_UNTIL:
        return parse_time_param("until", p->value, now_ns, &out->query.until_ns,
                                err, errlen);
    case K_LIMIT:
        return parse_limit(p->value, &out->query.limit, err, errlen);
    case K_FORMAT:
        return parse_format(p->value, &out->format, err, errlen);
    default:
        out->latest_given = true;
        return parse_bool(p->value, &out->query.latest, err, errlen);
    }
}

int sb__metrics_params_parse(const char *raw, size_t len, int route,
                             int64_t now_ns, sb_metrics_params *out, char *err,
                             size_t errlen)
{
    sb_params params;
    bool seen[K_COUNT] = {false};
    int rc;

    memset(out, 0, sizeof(*out));
    sb_query_init(&out->query);
    if (route != SB_PARAMS_METRICS && route != SB_PARAMS_SERIES) {
        set_err(err, errlen, "unknown route");
        return SB_EINVAL;
    }
    rc = sb__params_parse(raw, len, &params, err, errlen);
    if (rc != 0)
        return rc;

    rc = SB_ENOMEM;
    if (params.n > 0 && (out->names = calloc(params.n, sizeof(char *))) == NULL)
        goto out;
    for (size_t i = 0; i < params.n; i++) {
        rc = apply_param(&params.items[i], route, now_ns, seen, out, err,
                         errlen);
        if (rc != 0)
            goto out;
    }
    if (out->query.since_ns > out->query.until_ns) {
        set_err(err, errlen, "since must not be later than until");
        rc = SB_EINVAL;
        goto out;
    }
    rc = sb__match_params_compile(&out->match, err, errlen);
    if (rc != 0)
        goto out;
    out->query.names = (const char *const *)out->names;
    out->query.nnames = out->nnames;
    out->query.matchers = out->match.m;
    out->query.nmatchers = out->match.n;
    out->query.series_only = route == SB_PARAMS_SERIES;
    rc = 0;

out:
    sb__params_free(&params);
    if (rc != 0)
        sb__metrics_params_free(out);
    return rc;
}

void sb__metrics_params_free(sb_metrics_params *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i]);
    free(p->names);
    sb__match_params_free(&p->match);
    memset(p, 0, sizeof(*p));
    sb_query_init(&p->query);
}
