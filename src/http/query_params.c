/*
 * query_params.c - parameters of GET /api/v1/query (see query_params.h).
 *
 * The pairs are read in order; from, to and step are kept as text until
 * every pair is read, because their defaults depend on each other. Owned
 * strings (names, matcher and group_by values) are moved out of the pair
 * array, so the result stays valid after the pairs are freed.
 */
#include "http/query_params.h"

#include "common/quote.h"
#include "common/timeparse.h"
#include "http/match_params.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_MAX      64
#define QUOTE_MAX      40
#define NS_PER_SEC     1000000000LL
#define DEFAULT_RANGE  (3600 * NS_PER_SEC)
#define DEFAULT_POINTS 300

enum key_id { K_NAME, K_MATCH, K_GROUP_BY, K_FROM, K_TO, K_STEP, K_AGG, K_N };

static const char *const key_names[K_N] = {"name", "match", "group_by", "from",
                                           "to",   "step",  "agg"};

typedef struct pstate {
    sb_query_params *out;
    const char *text[K_N]; /* from, to, step, agg as given */
    char *err;
    size_t errlen;
} pstate;

static void set_err(pstate *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(pstate *ps, const char *fmt, ...)
{
    va_list ap;

    if (ps->err == NULL || ps->errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
}

static int key_lookup(const char *key)
{
    for (int i = 0; i < K_N; i++)
        if (strcmp(key, key_names[i]) == 0)
            return i;
    return -1;
}

static int add_name(pstate *ps, sb_param *p)
{
    sb_query_params *out = ps->out;

    if (p->value[0] == '\0') {
        set_err(ps, "name: must not be empty");
        return SB_EINVAL;
    }
    if (out->nnames == NAMES_MAX) {
        set_err(ps, "name: given more than %d times", NAMES_MAX);
        return SB_EINVAL;
    }
    out->names[out->nnames++] = p->value;
    p->value = NULL;
    return SB_OK;
}

static bool group_key_ok(const char *k)
{
    size_t i = 0;

    for (; k[i] != '\0'; i++) {
        char c = k[i];
        bool alpha =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';

        if (!alpha && (i == 0 || c < '0' || c > '9'))
            return false;
    }
    return i > 0 && i <= SB_LABEL_KEY_MAX;
}

/* Splits one group_by value on commas into out->group_by (owning it). */
static int add_group_by(pstate *ps, sb_param *p)
{
    sb_query_params *out = ps->out;
    char q[SB_QUOTE_BUF(QUOTE_MAX)];
    char *s = p->value;

    out->group_texts[out->ngroup_texts++] = s;
    p->value = NULL;
    for (;;) {
        char *comma = strchr(s, ',');

        if (comma != NULL)
            *comma = '\0';
        if (!group_key_ok(s)) {
            set_err(
                ps,
                "group_by: '%s' is not a label name (letters, digits "
                "and _, not starting with a digit) or __name__",
                sb__quote_bytes(s, strlen(s), QUOTE_MAX, '\'', q, sizeof q));
            return SB_EINVAL;
        }
        if (out->ngroup_by == SB_GROUP_BY_MAX) {
            set_err(ps, "group_by: more than %d labels", SB_GROUP_BY_MAX);
            return SB_EINVAL;
        }
        out->group_by[out->ngroup_by++] = s;
        if (comma == NULL)
            return SB_OK;
        s = comma + 1;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts group_by and refuses duplicates. */
static int finish_group_by(pstate *ps)
{
    sb_query_params *out = ps->out;
    char q[SB_QUOTE_BUF(QUOTE_MAX)];

    qsort(out->group_by, out->ngroup_by, sizeof out->group_by[0], cmp_str);
    for (size_t i = 1; i < out->ngroup_by; i++) {
        const char *k = out->group_by[i];

        if (strcmp(out->group_by[i - 1], k) == 0) {
            set_err(
                ps, "group_by: '%s' given more than once",
                sb__quote_bytes(k, strlen(k), QUOTE_MAX, '\'', q, sizeof q));
            return SB_EINVAL;
        }
    }
    return SB_OK;
}

static int apply(pstate *ps, sb_param *p)
{
    char q[SB_QUOTE_BUF(QUOTE_MAX)];
    int id = key_lookup(p->key);

    if (id < 0) {
        set_err(ps, "unknown parameter '%s'",
                sb__quote_bytes(p->key, strlen(p->key), QUOTE_MAX, '\'', q,
                                sizeof q));
        return SB_EINVAL;
    }
    switch (id) {
    case K_NAME:
        return add_name(ps, p);
    case K_MATCH:
        return sb__match_param_add(&ps->out->match, p, ps->err, ps->errlen);
    case K_GROUP_BY:
        return add_group_by(ps, p);
    default:
        break;
    }
    if (ps->text[id] != NULL) {
        set_err(ps, "parameter '%s' given more than once", key_names[id]);
        return SB_EINVAL;
    }
    ps->text[id] = p->value;
    return SB_OK;
}

static int parse_time(pstate *ps, int id, int64_t now_ns, int64_t *out)
{
    const char *v = ps->text[id];
    int rc = sb__parse_time(v, strlen(v), now_ns, out);

    if (rc == SB_ERANGE) {
        set_err(ps, "%s: time out of range", key_names[id]);
        return SB_EINVAL;
    }
    if (rc != 0) {
        set_err(ps,
                "%s: expected RFC 3339, Unix seconds or a relative time "
                "like -5m",
                key_names[id]);
        return SB_EINVAL;
    }
    return SB_OK;
}

/* Plain seconds: digits with an optional fraction, nothing else. */
static bool plain_seconds(const char *v)
{
    size_t i = 0, digits = 0;

    while (v[i] >= '0' && v[i] <= '9')
        i++, digits++;
    if (v[i] == '.') {
        i++;
        while (v[i] >= '0' && v[i] <= '9')
            i++, digits++;
    }
    return digits > 0 && v[i] == '\0';
}

static int parse_step(pstate *ps, int64_t *out)
{
    const char *v = ps->text[K_STEP];
    int rc;

    if (plain_seconds(v)) {
        char *end = NULL;
        double secs = strtod(v, &end);

        rc = end != NULL && *end == '\0' ? sb__unix_seconds_to_ns(secs, out)
                                         : SB_EINVAL;
    } else {
        rc = sb__parse_duration(v, strlen(v), out);
    }
    if (rc == SB_ERANGE) {
        set_err(ps, "step: too large");
        return SB_EINVAL;
    }
    if (rc != 0) {
        set_err(ps, "step: expected a duration like 10s, 1m, 500ms or a "
                    "number of seconds");
        return SB_EINVAL;
    }
    if (*out < SB_STEP_MIN_NS) {
        set_err(ps, "step: must be at least 1ms");
        return SB_EINVAL;
    }
    return SB_OK;
}

/* (to - from) / 300, rounded up to a whole second, at least 1s. */
static int64_t default_step(int64_t from, int64_t to)
{
    uint64_t span = (uint64_t)to - (uint64_t)from;
    uint64_t per = span / DEFAULT_POINTS + (span % DEFAULT_POINTS != 0);
    uint64_t secs = per / NS_PER_SEC + (per % NS_PER_SEC != 0);

    return secs < 1 ? NS_PER_SEC : (int64_t)secs * NS_PER_SEC;
}

static int finish_agg(pstate *ps)
{
    sb_query_params *out = ps->out;

    out->agg = SB_AGG_AVG;
    if (ps->text[K_AGG] == NULL)
        return SB_OK;
    out->agg = sb__agg_lookup(ps->text[K_AGG]);
    if (out->agg < 0) {
        set_err(ps, "agg: expected avg, min, max, sum, count, last, rate, "
                    "p50, p90, p95 or p99");
        return SB_EINVAL;
    }
    return SB_OK;
}

/* Resolves the single-valued parameters once every pair is read. */
static int finish(pstate *ps, int64_t now_ns)
{
    sb_query_params *out = ps->out;
    int rc;

    out->to_ns = now_ns;
    if (ps->text[K_TO] != NULL &&
        (rc = parse_time(ps, K_TO, now_ns, &out->to_ns)) != SB_OK)
        return rc;
    if (ps->text[K_FROM] != NULL) {
        if ((rc = parse_time(ps, K_FROM, now_ns, &out->from_ns)) != SB_OK)
            return rc;
    } else if (__builtin_sub_overflow(out->to_ns, DEFAULT_RANGE,
                                      &out->from_ns)) {
        out->from_ns = INT64_MIN;
    }
    if (out->from_ns > out->to_ns) {
        set_err(ps, "from must not be later than to");
        return SB_EINVAL;
    }
    out->step_ns = default_step(out->from_ns, out->to_ns);
    if (ps->text[K_STEP] != NULL && (rc = parse_step(ps, &out->step_ns)) != 0)
        return rc;
    if ((rc = finish_agg(ps)) != SB_OK)
        return rc;
    if ((rc = finish_group_by(ps)) != SB_OK)
        return rc;
    if (out->nnames == 0 && out->match.n == 0) {
        set_err(ps, "name or match is required: select the series to query");
        return SB_EINVAL;
    }
    return sb__match_params_compile(&out->match, ps->err, ps->errlen);
}

int sb__query_params_parse(const char *raw, size_t len, int64_t now_ns,
                           sb_query_params *out, char *err, size_t errlen)
{
    pstate ps = {.out = out, .err = err, .errlen = errlen};
    sb_params params;
    int rc;

    memset(out, 0, sizeof *out);
    rc = sb__params_parse(raw, len, &params, err, errlen);
    if (rc != 0)
        return rc;

    rc = SB_ENOMEM;
    if (params.n > 0 && (out->names = calloc(params.n, sizeof(char *))) == NULL)
        goto out;
    for (size_t i = 0; i < params.n; i++) {
        rc = apply(&ps, &params.items[i]);
        if (rc != 0)
            goto out;
    }
    rc = finish(&ps, now_ns);

out:
    sb__params_free(&params);
    if (rc != 0)
        sb__query_params_free(out);
    return rc;
}

void sb__query_params_free(sb_query_params *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i]);
    free(p->names);
    for (size_t i = 0; i < p->ngroup_texts; i++)
        free(p->group_texts[i]);
    sb__match_params_free(&p->match);
    memset(p, 0, sizeof *p);
}

void sb__query_params_to_range(const sb_query_params *p, sb_range_query *q)
{
    memset(q, 0, sizeof *q);
    q->names = (const char *const *)p->names;
    q->nnames = p->nnames;
    q->ms = &p->match.ms;
    q->from_ns = p->from_ns;
    q->to_ns = p->to_ns;
    q->step_ns = p->step_ns;
    q->agg = p->agg;
    q->group_by = p->group_by;
    q->ngroup_by = p->ngroup_by;
}
