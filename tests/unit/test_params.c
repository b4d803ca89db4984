/*
 * test_params.c - query string splitting/decoding and the parameters of
 * GET /metrics and GET /api/v1/series.
 *
 * Must-parse cases list the exact decoded pairs or the exact query
 * fields; must-reject cases pin the error code and a phrase of the
 * message (which has to name the offending parameter). Inputs are
 * length-delimited and copied into exactly-sized heap blocks, so cases
 * may embed NUL bytes and ASan catches reads past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/params.h"
#include "scoreboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit)    lit, sizeof(lit) - 1
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define NOW       INT64_C(1796322133000000000)
#define SEC       INT64_C(1000000000)

static char *heap_copy(const char *s, size_t n)
{
    char *c = malloc(n > 0 ? n : 1);

    assert_non_null(c);
    memcpy(c, s, n);
    return c;
}

/* ----------------------------------------------------- sb__params_parse */

typedef struct split_case {
    const char *raw;
    size_t len;
    size_t n;
    const char *pairs[8][2]; /* expected key/value, in order */
} split_case;

static void test_params_split_and_decode(void **state)
{
    static const split_case cases[] = {
        {S(""), 0, {{NULL, NULL}}},
        {S("&&&"), 0, {{NULL, NULL}}},
        {S("a=1"), 1, {{"a", "1"}}},
        {S("a=1&&b=2&"), 2, {{"a", "1"}, {"b", "2"}}},
        {S("&a=1"), 1, {{"a", "1"}}},
        {S("latest"), 1, {{"latest", ""}}},
        {S("a="), 1, {{"a", ""}}},
        {S("a=b=c"), 1, {{"a", "b=c"}}},
        {S("name=cpu+usage"), 1, {{"name", "cpu usage"}}},
        {S("name=a%2Bb%20c%3d%26"), 1, {{"name", "a+b c=&"}}},
        {S("%6E%61%6d%65=x"), 1, {{"name", "x"}}},
        {S("a=%C3%A9"), 1, {{"a", "\xc3\xa9"}}},
        {S("a=%ff"), 1, {{"a", "\xff"}}},
        {S("+=1"), 1, {{" ", "1"}}},
        {S("a=1&a=2"), 2, {{"a", "1"}, {"a", "2"}}},
        {S("a=%25"), 1, {{"a", "%"}}},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        const split_case *c = &cases[i];
        char *raw = heap_copy(c->raw, c->len);
        char err[128] = "";
        sb_params p;
        int rc = sb__params_parse(raw, c->len, &p, err, sizeof(err));
        bool ok = rc == 0 && p.n == c->n;

        for (size_t j = 0; ok && j < p.n; j++) {
            ok = strcmp(p.items[j].key, c->pairs[j][0]) == 0 &&
                 strcmp(p.items[j].value, c->pairs[j][1]) == 0;
        }
        if (!ok) {
            print_error("case %zu \"%s\": rc %d n %zu err \"%s\"\n", i, c->raw,
                        rc, rc == 0 ? p.n : 0, err);
            failures++;
        }
        if (rc == 0)
            sb__params_free(&p);
        free(raw);
    }
    assert_int_equal(failures, 0);
}

typedef struct reject_case {
    const char *raw;
    size_t len;
    int rc;
    const char *phrase;
} reject_case;

static void test_params_reject_bad_escapes_nul_and_empty_keys(void **state)
{
    static const reject_case cases[] = {
        {S("=1"), SB_EINVAL, "empty parameter name"},
        {S("="), SB_EINVAL, "empty parameter name"},
        {S("a=1&=2"), SB_EINVAL, "empty parameter name"},
        {S("a=%"), SB_EINVAL, "percent-escape"},
        {S("a=%4"), SB_EINVAL, "percent-escape"},
        {S("a=%zz"), SB_EINVAL, "percent-escape"},
        {S("a=%g0"), SB_EINVAL, "percent-escape"},
        {S("a=%0g"), SB_EINVAL, "percent-escape"},
        {S("a=%%41"), SB_EINVAL, "percent-escape"},
        {S("a=% 1"), SB_EINVAL, "percent-escape"},
        {S("a=%+1"), SB_EINVAL, "percent-escape"},
        {S("%=1"), SB_EINVAL, "percent-escape"},
        {S("a%=1"), SB_EINVAL, "percent-escape"},
        {S("a=1%"), SB_EINVAL, "percent-escape"},
        {S("a=%00"), SB_EINVAL, "NUL"},
        {S("a%00b=1"), SB_EINVAL, "NUL"},
        {S("a=\0"), SB_EINVAL, "NUL"},
        {S("a\0=1"), SB_EINVAL, "NUL"},
        {S("a=1&b=%"), SB_EINVAL, "percent-escape"},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        const reject_case *c = &cases[i];
        char *raw = heap_copy(c->raw, c->len);
        char err[128] = "";
        sb_params p;
        int rc = sb__params_parse(raw, c->len, &p, err, sizeof(err));

        if (rc != c->rc || strstr(err, c->phrase) == NULL) {
            print_error("case %zu \"%.*s\": rc %d err \"%s\"\n", i, (int)c->len,
                        c->raw, rc, err);
            failures++;
        }
        if (rc != 0 && (p.items != NULL || p.n != 0)) {
            print_error("case %zu: output not cleared\n", i);
            failures++;
        }
        if (rc == 0)
            sb__params_free(&p);
        free(raw);
    }
    assert_int_equal(failures, 0);
}

static void test_params_length_limit_is_exact(void **state)
{
    char *raw = malloc(SB_QUERY_MAX + 1);
    char err[128] = "";
    sb_params p;

    (void)state;
    assert_non_null(raw);
    memset(raw, 'x', SB_QUERY_MAX + 1);
    memcpy(raw, "a=", 2);
    assert_int_equal(sb__params_parse(raw, SB_QUERY_MAX, &p, err, sizeof(err)),
                     0);
    assert_int_equal(p.n, 1);
    assert_int_equal(strlen(p.items[0].value), SB_QUERY_MAX - 2);
    sb__params_free(&p);

    assert_int_equal(
        sb__params_parse(raw, SB_QUERY_MAX + 1, &p, err, sizeof(err)),
        SB_ETOOLARGE);
    assert_non_null(strstr(err, "8192"));
    free(raw);
}

/* "k=1&k=1&..." with n pairs, each separated by sep. */
static size_t build_pairs(char *buf, size_t size, size_t n, const char *pair,
                          const char *sep)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? sep : "", pair);
    return o;
}

static void test_params_count_limit_is_exact(void **state)
{
    char raw[2048];
    char err[128] = "";
    sb_params p;
    size_t len;

    (void)state;
    len = build_pairs(raw, sizeof(raw), SB_PARAMS_MAX, "k=1", "&&");
    assert_int_equal(sb__params_parse(raw, len, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, SB_PARAMS_MAX);
    sb__params_free(&p);

    len = build_pairs(raw, sizeof(raw), SB_PARAMS_MAX + 1, "k=1", "&");
    assert_int_equal(sb__params_parse(raw, len, &p, err, sizeof(err)),
                     SB_ETOOLARGE);
    assert_non_null(strstr(err, "64"));
    assert_null(p.items);
}

static void test_params_tolerate_null_or_tiny_error_buffer(void **state)
{
    char err[4];
    sb_params p;

    (void)state;
    assert_int_equal(sb__params_parse(S("=1"), &p, NULL, 0), SB_EINVAL);
    assert_int_equal(sb__params_parse(S("=1"), &p, err, sizeof(err)),
                     SB_EINVAL);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(sb__params_parse(NULL, 0, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 0);
}

/* --------------------------------------------- sb__metrics_params_parse */

static int parse_route(const char *raw, size_t len, int route,
                       sb_metrics_params *out, char *err, size_t errlen)
{
    char *copy = heap_copy(raw, len);
    int rc = sb__metrics_params_parse(copy, len, route, NOW, out, err, errlen);

    free(copy);
    return rc;
}

static void test_metrics_params_defaults(void **state)
{
    sb_metrics_params mp;
    char err[200];

    (void)state;
    assert_int_equal(
        parse_route(S(""), SB_PARAMS_METRICS, &mp, err, sizeof(err)), 0);
    assert_true(mp.query.since_ns == INT64_MIN);
    assert_true(mp.query.until_ns == INT64_MAX);
    assert_int_equal(mp.query.limit, 0);
    assert_false(mp.query.latest);
    assert_false(mp.query.series_only);
    assert_int_equal(mp.query.nnames, 0);
    assert_int_equal(mp.nnames, 0);
    sb__metrics_params_free(&mp);
}

static void test_metrics_params_all_fields(void **state)
{
    static const char raw[] = "name=cpu&name=mem%2Eused&since=-5m&until=now&"
                              "limit=10&latest=true";
    sb_metrics_params mp;
    char err[200];

    (void)state;
    assert_int_equal(parse_route(raw, sizeof(raw) - 1, SB_PARAMS_METRICS, &mp,
                                 err, sizeof(err)),
                     0);
    assert_int_equal(mp.nnames, 2);
    assert_int_equal(mp.query.nnames, 2);
    assert_string_equal(mp.query.names[0], "cpu");
    assert_string_equal(mp.query.names[1], "mem.used");
    assert_true(mp.query.since_ns == NOW - 300 * SEC);
    assert_true(mp.query.until_ns == NOW);
    assert_int_equal(mp.query.limit, 10);
    assert_true(mp.query.latest);
    sb__metrics_params_free(&mp);
    assert_null(mp.names);
    assert_int_equal(mp.nnames, 0);
}

typedef struct route_case {
    const char *raw;
    size_t len;
    int route;
    int64_t since, until;
    size_t limit;
    bool latest;
} route_case;

#define M SB_PARAMS_METRICS
#define R SB_PARAMS_SERIES

static void test_metrics_params_accepts_every_value_form(void **state)
{
    static const route_case cases[] = {
        {S("since=2026-12-03T18:22:13Z"), M, INT64_C(1796322133) * SEC,
         INT64_MAX, 0, false},
        {S("since=2026-12-03T18%3A22%3A13%2B01%3A00"), M,
         INT64_C(1796318533) * SEC, INT64_MAX, 0, false},
        /* '+' decodes to a space, which RFC 3339 allows before the time. */
        {S("since=2026-12-03+18:22:13.5Z"), M, INT64_C(1796322133500000000),
         INT64_MAX, 0, false},
        {S("since=1733250133.25"), M, INT64_C(1733250133250000000), INT64_MAX,
         0, false},
        {S("until=1733250133"), M, INT64_MIN, INT64_C(1733250133) * SEC, 0,
         false},
        {S("since=now-1h30m&until=-1h"), M, NOW - 5400 * SEC, NOW - 3600 * SEC,
         0, false},
        {S("since=now&until=now"), M, NOW, NOW, 0, false},
        {S("limit=1"), M, INT64_MIN, INT64_MAX, 1, false},
        {S("limit=10000000"), M, INT64_MIN, INT64_MAX, 10000000, false},
        {S("limit=0007"), M, INT64_MIN, INT64_MAX, 7, false},
        {S("latest=1"), M, INT64_MIN, INT64_MAX, 0, true},
        {S("latest=false"), M, INT64_MIN, INT64_MAX, 0, false},
        {S("latest=0"), M, INT64_MIN, INT64_MAX, 0, false},
        {S("latest"), M, INT64_MIN, INT64_MAX, 0, true},
        {S("&&latest=true&&"), M, INT64_MIN, INT64_MAX, 0, true},
        {S("since=-1h&until=now&name=a"), R, NOW - 3600 * SEC, NOW, 0, false},
        {S(""), R, INT64_MIN, INT64_MAX, 0, false},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        const route_case *c = &cases[i];
        sb_metrics_params mp;
        char err[200] = "";
        int rc = parse_route(c->raw, c->len, c->route, &mp, err, sizeof(err));

        if (rc != 0 || mp.query.since_ns != c->since ||
            mp.query.until_ns != c->until || mp.query.limit != c->limit ||
            mp.query.latest != c->latest ||
            mp.query.series_only != (c->route == R)) {
            print_error("case %zu \"%s\": rc %d err \"%s\" since %lld "
                        "until %lld limit %zu\n",
                        i, c->raw, rc, err, (long long)mp.query.since_ns,
                        (long long)mp.query.until_ns, mp.query.limit);
            failures++;
        }
        sb__metrics_params_free(&mp);
    }
    assert_int_equal(failures, 0);
}

typedef struct route_reject {
    const char *raw;
    size_t len;
    int route;
    int rc;
    const char *phrase;
} route_reject;

#define BAD_SINCE "since: expected RFC 3339, Unix seconds or a relative time"

static void test_metrics_params_rejects_bad_parameters(void **state)
{
    static const route_reject cases[] = {
        {S("foo=1"), M, SB_EINVAL, "unknown parameter 'foo'"},
        {S("Name=a"), M, SB_EINVAL, "unknown parameter 'Name'"},
        {S("names=a"), M, SB_EINVAL, "unknown parameter 'names'"},
        {S("%01%27%5c=1"), M, SB_EINVAL, "unknown parameter '\\x01\\x27\\x5c'"},
        {S("limit=5"), R, SB_EINVAL, "unknown parameter 'limit'"},
        {S("latest=true"), R, SB_EINVAL, "unknown parameter 'latest'"},
        {S("limit=1&limit=2"), M, SB_EINVAL,
         "parameter 'limit' given more than once"},
        {S("since=1&since=2"), M, SB_EINVAL, "parameter 'since' given more"},
        {S("until=1&until=2"), R, SB_EINVAL, "parameter 'until' given more"},
        {S("latest=1&latest=1"), M, SB_EINVAL, "parameter 'latest' given"},
        {S("limit=0"), M, SB_EINVAL, "limit:"},
        {S("limit=-1"), M, SB_EINVAL, "limit:"},
        {S("limit=10000001"), M, SB_EINVAL, "limit:"},
        {S("limit=99999999999999999999999999"), M, SB_EINVAL, "limit:"},
        {S("limit=1e3"), M, SB_EINVAL, "limit:"},
        {S("limit=0x10"), M, SB_EINVAL, "limit:"},
        {S("limit=+5"), M, SB_EINVAL, "limit:"},
        {S("limit=%2B5"), M, SB_EINVAL, "limit:"},
        {S("limit=5+"), M, SB_EINVAL, "limit:"},
        {S("limit=5.0"), M, SB_EINVAL, "limit:"},
        {S("limit="), M, SB_EINVAL, "limit:"},
        {S("limit"), M, SB_EINVAL, "limit:"},
        {S("latest=yes"), M, SB_EINVAL, "latest:"},
        {S("latest=TRUE"), M, SB_EINVAL, "latest:"},
        {S("latest=2"), M, SB_EINVAL, "latest:"},
        {S("name="), M, SB_EINVAL, "name:"},
        {S("name"), R, SB_EINVAL, "name:"},
        {S("since=garbage"), M, SB_EINVAL, BAD_SINCE},
        {S("since="), M, SB_EINVAL, BAD_SINCE},
        {S("since=1e9"), M, SB_EINVAL, BAD_SINCE},
        {S("since=-5"), M, SB_EINVAL, BAD_SINCE},
        {S("since=2026-02-30T00:00:00Z"), M, SB_EINVAL, BAD_SINCE},
        /* A raw '+' is a space, so an unescaped offset is malformed. */
        {S("since=2026-12-03T18:22:13+01:00"), M, SB_EINVAL, BAD_SINCE},
        {S("until=now+5m"), M, SB_EINVAL, "until: expected RFC 3339"},
        {S("since=2262-04-12T00:00:00Z"), M, SB_EINVAL,
         "since: time out of range"},
        {S("until=99999999999"), R, SB_EINVAL, "until: time out of range"},
        {S("since=-9999999999999999999ns"), M, SB_EINVAL,
         "since: time out of range"},
        {S("since=now&until=-1h"), M, SB_EINVAL,
         "since must not be later than until"},
        {S("since=2&until=1"), R, SB_EINVAL, "since must not be later"},
        {S("name=a&=1"), M, SB_EINVAL, "empty parameter name"},
        {S("name=%zz"), M, SB_EINVAL, "percent-escape"},
        {S("name=a%00"), M, SB_EINVAL, "NUL"},
        {S("name=a\0"), M, SB_EINVAL, "NUL"},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        const route_reject *c = &cases[i];
        sb_metrics_params mp;
        char err[200] = "";
        int rc = parse_route(c->raw, c->len, c->route, &mp, err, sizeof(err));

        if (rc != c->rc || strstr(err, c->phrase) == NULL) {
            print_error("case %zu \"%.*s\": rc %d err \"%s\"\n", i, (int)c->len,
                        c->raw, rc, err);
            failures++;
        }
        if (rc != 0 && (mp.names != NULL || mp.nnames != 0 ||
                        mp.query.nnames != 0 || mp.query.names != NULL)) {
            print_error("case %zu: output not cleared\n", i);
            failures++;
        }
        if (rc == 0)
            sb__metrics_params_free(&mp);
    }
    assert_int_equal(failures, 0);
}

static void test_metrics_params_name_count_limits(void **state)
{
    char raw[2048];
    sb_metrics_params mp;
    char err[200];
    size_t len;

    (void)state;
    len = build_pairs(raw, sizeof(raw), 64, "name=n", "&");
    assert_int_equal(parse_route(raw, len, M, &mp, err, sizeof(err)), 0);
    assert_int_equal(mp.query.nnames, 64);
    assert_string_equal(mp.query.names[63], "n");
    sb__metrics_params_free(&mp);

    len = build_pairs(raw, sizeof(raw), 65, "name=n", "&");
    assert_int_equal(parse_route(raw, len, M, &mp, err, sizeof(err)),
                     SB_ETOOLARGE);
    assert_null(mp.names);
}

static void test_metrics_params_rejects_unknown_route(void **state)
{
    sb_metrics_params mp;
    char err[200];

    (void)state;
    assert_int_equal(parse_route(S("name=a"), 7, &mp, err, sizeof(err)),
                     SB_EINVAL);
    assert_null(mp.names);
    sb__metrics_params_free(&mp);
    sb__metrics_params_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_split_and_decode),
        cmocka_unit_test(test_params_reject_bad_escapes_nul_and_empty_keys),
        cmocka_unit_test(test_params_length_limit_is_exact),
        cmocka_unit_test(test_params_count_limit_is_exact),
        cmocka_unit_test(test_params_tolerate_null_or_tiny_error_buffer),
        cmocka_unit_test(test_metrics_params_defaults),
        cmocka_unit_test(test_metrics_params_all_fields),
        cmocka_unit_test(test_metrics_params_accepts_every_value_form),
        cmocka_unit_test(test_metrics_params_rejects_bad_parameters),
        cmocka_unit_test(test_metrics_params_name_count_limits),
        cmocka_unit_test(test_metrics_params_rejects_unknown_route),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
