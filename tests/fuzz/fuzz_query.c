/*
 * fuzz_query.c - libFuzzer target for query strings and the time and
 * duration parsers behind them.
 *
 * The input is fed to sb__params_parse, to sb__metrics_params_parse for
 * both routes, to sb__query_params_parse (GET /api/v1/query), whose
 * accepted queries are then run against a small fixed store, as one
 * label matcher to sb__matcher_parse and sb__matchset_compile, and as a
 * bare value to sb__parse_time, sb__parse_rfc3339 and sb__parse_duration.
 * Accepted results must satisfy the documented invariants (limits,
 * since <= until, no empty names or keys, step >= 1ms, group_by sorted
 * and distinct, values within the caps); an RFC 3339 time must survive a
 * format-and-parse round trip exactly. Any broken invariant aborts, which
 * libFuzzer reports as a crash.
 */
#include "common/timeparse.h"
#include "http/params.h"
#include "http/query_params.h"
#include "scoreboard.h"
#include "store/aggregate.h"
#include "store/match.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

/* A fixed "now" keeps runs reproducible. */
#define NOW INT64_C(1796322133000000000)

#define SEC INT64_C(1000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A store with a few series around NOW, built on first use and kept. */
static sb_store *fixed_store(void)
{
    static sb_store *st;
    static const sb_label l1[] = {{"host", "web1"}, {"route", "/a"}};
    static const sb_label l2[] = {{"host", "db1"}};
    sb_store_options o;

    if (st != NULL)
        return st;
    sb_store_options_init(&o);
    o.retention_ns = INT64_MAX / 2; /* NOW is fixed; keep everything */
    CHECK(sb_store_create(&o, &st) == 0);
    for (int i = 0; i < 200; i++) {
        sb_sample s[3] = {
            {"cpu", l1, 2, i % 7 == 0 ? NAN : i, NOW - i * SEC / 2},
            {"cpu", l2, 1, 1000 - i, NOW - i * SEC},
            {"reqs", NULL, 0, (i % 50) * 3, NOW - 3600 * SEC + i * SEC}};

        CHECK(sb_store_write_batch(st, s, 3, NULL) == 0);
    }
    return st;
}

static void fuzz_range_query(const sb_query_params *p)
{
    sb_range_query q;
    sb_agg_result res;
    int rc;

    sb__query_params_to_range(p, &q);
    q.max_samples = 1000;
    q.max_values = 500;
    rc = sb__range_query(fixed_store(), &q, &res);
    CHECK(rc == 0 || rc == SB_ETOOLARGE || rc == SB_ENOMEM);
    if (rc == 0) {
        size_t total = 0;

        for (size_t i = 0; i < res.nseries; i++) {
            const sb_agg_series *s = &res.series[i];

            CHECK(s->nvals > 0);
            for (size_t j = 0; j < s->nvals; j++) {
                CHECK(s->vals[j].t_ns % q.step_ns == 0);
                CHECK(s->vals[j].t_ns <= q.to_ns);
                CHECK(s->vals[j].t_ns > q.from_ns - q.step_ns);
                CHECK(j == 0 || s->vals[j].t_ns > s->vals[j - 1].t_ns);
            }
            total += s->nvals;
        }
        CHECK(total == res.nvalues && total <= q.max_values);
    }
    sb__agg_result_free(&res);
}

static void fuzz_query_route(const char *s, size_t n)
{
    char err[320];
    sb_query_params p;
    int rc = sb__query_params_parse(s, n, NOW, &p, err, sizeof(err));

    if (rc != 0) {
        CHECK(rc == SB_EINVAL || rc == SB_ETOOLARGE || rc == SB_ENOMEM);
        CHECK(p.names == NULL && p.nnames == 0 && p.match.n == 0);
        CHECK(err[0] != '\0');
        return;
    }
    CHECK(p.from_ns <= p.to_ns && p.step_ns >= SB_STEP_MIN_NS);
    CHECK(p.agg >= 0 && p.agg < SB_AGG_KINDS);
    CHECK(p.nnames + p.match.n > 0 && p.match.n <= SB_MATCHERS_MAX);
    CHECK(p.match.compiled && p.match.ms.n == p.match.n);
    CHECK(p.ngroup_by <= SB_GROUP_BY_MAX);
    for (size_t i = 1; i < p.ngroup_by; i++)
        CHECK(strcmp(p.group_by[i - 1], p.group_by[i]) < 0);
    fuzz_range_query(&p);
    sb__query_params_free(&p);
}

/* The whole input as one matcher: parse, compile, test a few keys. */
static void fuzz_matcher(const char *s, size_t n)
{
    static const char key1[] = "cpu\0host\0web1\0route\0/a";
    static const char key2[] = "x";
    char *text = malloc(n + 1), err[320];
    sb_matcher m;
    sb_matchset ms;

    CHECK(text != NULL);
    memcpy(text, s, n);
    text[n] = '\0';
    if (memchr(s, '\0', n) == NULL &&
        sb__matcher_parse(text, &m, err, sizeof(err)) == 0 &&
        sb__matchset_compile(&ms, &m, 1, err, sizeof(err)) == 0) {
        (void)sb__matchset_test(&ms, key1, sizeof(key1), 2);
        (void)sb__matchset_test(&ms, key2, sizeof(key2), 0);
        sb__matchset_free(&ms);
    }
    free(text);
}

static void fuzz_split(const char *s, size_t n)
{
    char err[128];
    sb_params p;
    int rc = sb__params_parse(s, n, &p, err, sizeof(err));

    if (rc != 0) {
        CHECK(rc == SB_EINVAL || rc == SB_ETOOLARGE || rc == SB_ENOMEM);
        CHECK(p.items == NULL && p.n == 0);
        return;
    }
    CHECK(n <= SB_QUERY_MAX && p.n <= SB_PARAMS_MAX);
    for (size_t i = 0; i < p.n; i++) {
        CHECK(p.items[i].key[0] != '\0');
        CHECK(strlen(p.items[i].key) + strlen(p.items[i].value) <= n);
    }
    sb__params_free(&p);
}

static void fuzz_route(const char *s, size_t n, int route)
{
    char err[200];
    sb_metrics_params mp;
    int rc = sb__metrics_params_parse(s, n, route, NOW, &mp, err, sizeof(err));

    if (rc != 0) {
        CHECK(rc == SB_EINVAL || rc == SB_ETOOLARGE || rc == SB_ENOMEM);
        CHECK(mp.names == NULL && mp.nnames == 0 && mp.query.nnames == 0);
        return;
    }
    CHECK(mp.query.since_ns <= mp.query.until_ns);
    CHECK(mp.query.limit <= 10000000);
    CHECK(mp.nnames <= 64 && mp.query.nnames == mp.nnames);
    for (size_t i = 0; i < mp.nnames; i++)
        CHECK(mp.query.names[i] != NULL && mp.query.names[i][0] != '\0');
    if (route == SB_PARAMS_SERIES)
        CHECK(mp.query.limit == 0 && !mp.query.latest);
    sb__metrics_params_free(&mp);
}

/* A parsed RFC 3339 time, formatted and parsed again, is unchanged. */
static void check_round_trip(int64_t ns)
{
    char text[SB_RFC3339_MAX + 1];
    int64_t again = 0;
    size_t len = sb__fmt_rfc3339(ns, text);

    CHECK(len <= SB_RFC3339_MAX && text[len] == '\0');
    CHECK(sb__parse_rfc3339(text, len, &again) == 0);
    CHECK(again == ns);
}

static void fuzz_times(const char *s, size_t n)
{
    int64_t t = 0;
    int rc;

    rc = sb__parse_time(s, n, NOW, &t);
    CHECK(rc == 0 || rc == SB_EINVAL || rc == SB_ERANGE);
    if (rc == 0 && n > 0 && (s[0] == '-' || s[0] == 'n'))
        CHECK(t <= NOW);

    rc = sb__parse_rfc3339(s, n, &t);
    CHECK(rc == 0 || rc == SB_EINVAL || rc == SB_ERANGE);
    if (rc == 0)
        check_round_trip(t);

    rc = sb__parse_duration(s, n, &t);
    CHECK(rc == 0 || rc == SB_EINVAL || rc == SB_ERANGE);
    if (rc == 0)
        CHECK(t >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    fuzz_split(s, size);
    fuzz_route(s, size, SB_PARAMS_METRICS);
    fuzz_route(s, size, SB_PARAMS_SERIES);
    fuzz_query_route(s, size);
    fuzz_matcher(s, size);
    fuzz_times(s, size);
    return 0;
}
