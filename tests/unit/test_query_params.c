/*
 * test_query_params.c - the parameters of GET /api/v1/query, the `match`
 * parameter of GET /metrics and /api/v1/series, and the JSON body of a
 * query (encode/query_json.c).
 *
 * Must-parse cases pin the resolved fields (defaults included);
 * must-reject cases pin SB_EINVAL and a phrase of the message, which has
 * to name the parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "encode/query_json.h"
#include "http/params.h"
#include "http/query_params.h"
#include "scoreboard.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define NOW       INT64_C(1796322133000000000) /* a whole second */
#define SEC       INT64_C(1000000000)
#define MS        INT64_C(1000000)

static int parse(const char *raw, sb_query_params *p, char *err, size_t n)
{
    err[0] = '\0';
    return sb__query_params_parse(raw, strlen(raw), NOW, p, err, n);
}

static void test_query_params_defaults(void **state)
{
    sb_query_params p;
    char err[320];

    (void)state;
    assert_int_equal(parse("name=cpu", &p, err, sizeof err), SB_OK);
    assert_int_equal(p.nnames, 1);
    assert_string_equal(p.names[0], "cpu");
    assert_int_equal(p.to_ns, NOW);
    assert_int_equal(p.from_ns, NOW - 3600 * SEC);
    assert_int_equal(p.step_ns, 12 * SEC); /* 3600 s / 300 */
    assert_int_equal(p.agg, SB_AGG_AVG);
    assert_int_equal(p.ngroup_by, 0);
    assert_int_equal(p.match.n, 0);
    sb__query_params_free(&p);

    /* a short range: (to - from) / 300 rounded up, at least 1 s */
    assert_int_equal(parse("name=a&from=-5m", &p, err, sizeof err), SB_OK);
    assert_int_equal(p.step_ns, 1 * SEC);
    sb__query_params_free(&p);
    assert_int_equal(parse("name=a&from=-301s", &p, err, sizeof err), SB_OK);
    assert_int_equal(p.step_ns, 2 * SEC);
    sb__query_params_free(&p);
    assert_int_equal(parse("name=a&from=now", &p, err, sizeof err), SB_OK);
    assert_int_equal(p.from_ns, NOW);
    assert_int_equal(p.step_ns, 1 * SEC);
    sb__query_params_free(&p);
    /* from defaults to to - 1h */
    assert_int_equal(parse("name=a&to=-1h", &p, err, sizeof err), SB_OK);
    assert_int_equal(p.from_ns, NOW - 7200 * SEC);
    sb__query_params_free(&p);
}

static void test_query_params_all_fields(void **state)
{
    sb_query_params p;
    sb_range_query q;
    char err[320];

    (void)state;
    assert_int_equal(parse("name=a&name=b&match=host%3D~web.*&match=env!%3Dd"
                           "&from=1796322000&to=2026-12-03T18:22:13Z"
                           "&step=500ms&agg=p99&group_by=route,code"
                           "&group_by=__name__",
                           &p, err, sizeof err),
                     SB_OK);
    assert_int_equal(p.nnames, 2);
    assert_int_equal(p.match.n, 2);
    assert_string_equal(p.match.m[0].key, "host");
    assert_string_equal(p.match.m[0].value, "web.*");
    assert_int_equal(p.match.m[0].op, SB_MATCH_RE);
    assert_int_equal(p.match.m[1].op, SB_MATCH_NE);
    assert_int_equal(p.from_ns, 1796322000 * SEC);
    assert_int_equal(p.to_ns, 1796322133 * SEC);
    assert_int_equal(p.step_ns, 500 * MS);
    assert_int_equal(p.agg, SB_AGG_P99);
    assert_int_equal(p.ngroup_by, 3); /* sorted */
    assert_string_equal(p.group_by[0], "__name__");
    assert_string_equal(p.group_by[1], "code");
    assert_string_equal(p.group_by[2], "route");

    sb__query_params_to_range(&p, &q);
    assert_int_equal(q.nnames, 2);
    assert_int_equal(q.ngroup_by, 3);
    assert_int_equal(q.step_ns, 500 * MS);
    assert_true(q.ms == &p.match.ms);
    sb__query_params_free(&p);
}

static void test_query_params_step_forms(void **state)
{
    static const struct {
        const char *v;
        int64_t ns;
    } ok[] = {
        {"10s", 10 * SEC}, {"1m", 60 * SEC},      {"500ms", 500 * MS},
        {"15", 15 * SEC},  {"0.5", 500 * MS},     {"1ms", MS},
        {"0.001", MS},     {"1h30m", 5400 * SEC}, {"1.5s", 1500 * MS},
    };
    sb_query_params p;
    char raw[64], err[320];

    (void)state;
    for (size_t i = 0; i < NCASES(ok); i++) {
        snprintf(raw, sizeof raw, "name=a&step=%s", ok[i].v);
        if (parse(raw, &p, err, sizeof err) != SB_OK)
            fail_msg("step=%s refused: %s", ok[i].v, err);
        assert_int_equal(p.step_ns, ok[i].ns);
        sb__query_params_free(&p);
    }
}

static void test_query_params_rejects(void **state)
{
    static const struct {
        const char *raw, *phrase;
    } bad[] = {
        {"", "name or match is required"},
        {"from=-5m", "name or match is required"},
        {"name=", "name: must not be empty"},
        {"name=a&bogus=1", "unknown parameter 'bogus'"},
        {"name=a&since=-5m", "unknown parameter 'since'"},
        {"name=a&from=-5m&from=-6m", "parameter 'from' given more than once"},
        {"name=a&to=now&to=now", "parameter 'to' given more than once"},
        {"name=a&step=1s&step=2s", "parameter 'step' given more than once"},
        {"name=a&agg=avg&agg=avg", "parameter 'agg' given more than once"},
        {"name=a&from=yesterday", "from: expected RFC 3339"},
        {"name=a&to=12:00", "to: expected RFC 3339"},
        {"name=a&from=99999999999999", "from: time out of range"},
        {"name=a&from=now&to=-1m", "from must not be later than to"},
        {"name=a&step=0", "step: must be at least 1ms"},
        {"name=a&step=0.0009", "step: must be at least 1ms"},
        {"name=a&step=999us", "step: must be at least 1ms"},
        {"name=a&step=", "step: expected a duration"},
        {"name=a&step=-1s", "step: expected a duration"},
        {"name=a&step=1e3", "step: expected a duration"},
        {"name=a&step=10x", "step: expected a duration"},
        {"name=a&step=+5", "step: expected a duration"},
        {"name=a&step=99999999999999999999", "step: "},
        {"name=a&step=9999999999d", "step: too large"},
        {"name=a&agg=median", "agg: expected avg, min, max"},
        {"name=a&agg=", "agg: expected"},
        {"name=a&agg=AVG", "agg: expected"},
        {"name=a&group_by=", "group_by: '' is not a label name"},
        {"name=a&group_by=a,,b", "group_by: '' is not a label name"},
        {"name=a&group_by=a,", "group_by: '' is not a label name"},
        {"name=a&group_by=9a", "group_by: '9a' is not a label name"},
        {"name=a&group_by=a-b", "group_by: 'a-b' is not a label name"},
        {"name=a&group_by=a,b&group_by=a", "group_by: 'a' given more than"},
        {"match=k", "match 'k': expected KEY=VALUE"},
        {"match=%3Dv", "match '=v': expected KEY=VALUE"},
        {"match=k%3D~(", "match 'k=~(': invalid regex"},
        {"match=k%3D~(a)%5C1", "back-references are not supported"},
        {"name=a&x", "unknown parameter 'x'"},
        {"name=a%00", "NUL byte"},
        {"name=a&from=%zz", "percent-escape"},
    };
    sb_query_params p;
    char err[320];

    (void)state;
    for (size_t i = 0; i < NCASES(bad); i++) {
        int rc = parse(bad[i].raw, &p, err, sizeof err);

        if (rc != SB_EINVAL)
            fail_msg("'%s': rc %d, want SB_EINVAL", bad[i].raw, rc);
        if (strstr(err, bad[i].phrase) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].raw, err,
                     bad[i].phrase);
        assert_null(p.names);
        assert_int_equal(p.match.n, 0);
    }
}

static void test_query_params_count_limits(void **state)
{
    sb_query_params p;
    char raw[4096], err[320];
    size_t o;

    (void)state;
    /* 32 matchers pass, 33 do not */
    o = 0;
    for (int i = 0; i < SB_MATCHERS_MAX; i++)
        o += (size_t)snprintf(raw + o, sizeof raw - o, "%smatch=k%d%%3Dv",
                              i ? "&" : "", i);
    assert_int_equal(parse(raw, &p, err, sizeof err), SB_OK);
    assert_int_equal(p.match.n, SB_MATCHERS_MAX);
    sb__query_params_free(&p);
    snprintf(raw + o, sizeof raw - o, "&match=x%%3Dy");
    assert_int_equal(parse(raw, &p, err, sizeof err), SB_EINVAL);
    assert_non_null(strstr(err, "match: given more than 32 times"));

    /* 32 group_by keys pass, 33 do not */
    o = (size_t)snprintf(raw, sizeof raw, "name=a&group_by=");
    for (int i = 0; i < SB_GROUP_BY_MAX; i++)
        o +=
            (size_t)snprintf(raw + o, sizeof raw - o, "%sk%d", i ? "," : "", i);
    assert_int_equal(parse(raw, &p, err, sizeof err), SB_OK);
    assert_int_equal(p.ngroup_by, SB_GROUP_BY_MAX);
    sb__query_params_free(&p);
    snprintf(raw + o, sizeof raw - o, ",z");
    assert_int_equal(parse(raw, &p, err, sizeof err), SB_EINVAL);
    assert_non_null(strstr(err, "group_by: more than 32 labels"));
}

/* GET /metrics and /api/v1/series take `match` too. */
static void test_metrics_params_take_matchers(void **state)
{
    static const char raw[] = "match=__name__%3D~cpu.*&match=host!~db.*";
    sb_metrics_params p;
    char err[320] = "";

    (void)state;
    for (int route = SB_PARAMS_METRICS; route <= SB_PARAMS_SERIES; route++) {
        assert_int_equal(sb__metrics_params_parse(raw, strlen(raw), route, NOW,
                                                  &p, err, sizeof err),
                         SB_OK);
        assert_int_equal(p.query.nmatchers, 2);
        assert_string_equal(p.query.matchers[0].key, "__name__");
        assert_string_equal(p.query.matchers[1].value, "db.*");
        assert_int_equal(p.match.ms.n, 2);
        sb__metrics_params_free(&p);

        assert_int_equal(sb__metrics_params_parse("match=k%3D~%5B", 14, route,
                                                  NOW, &p, err, sizeof err),
                         SB_EINVAL);
        assert_non_null(strstr(err, "match 'k=~[': invalid regex"));
    }
}

/* ------------------------------------------------------------ JSON */

static void test_query_json_unix_seconds(void **state)
{
    static const struct {
        int64_t ns;
        const char *text;
    } cases[] = {
        {0, "0"},
        {SEC, "1"},
        {1733300000 * SEC, "1733300000"},
        {1733300000 * SEC + 500 * MS, "1733300000.5"},
        {1, "0.000000001"},
        {1500 * MS, "1.5"},
        {123456789, "0.123456789"},
        {-1500 * MS, "-1.5"},
        {INT64_MAX, "9223372036.854775807"},
        {INT64_MIN, "-9223372036.854775808"},
    };
    char out[SB_UNIX_SECONDS_MAX + 1];

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        size_t n = sb__fmt_unix_seconds(cases[i].ns, out);

        assert_string_equal(out, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
    }
}

static void test_query_json_body(void **state)
{
    char k1[] = "cpu\0host\0we\"b1";
    char k2[] = "mem";
    sb_agg_value v1[] = {{1733300000 * SEC, 45.2},
                         {1733300000 * SEC + 500 * MS, NAN},
                         {1733300001 * SEC, INFINITY},
                         {1733300002 * SEC, -INFINITY}};
    sb_agg_value v2[] = {{0, 0.1}};
    sb_agg_series s[] = {{k1, sizeof k1, 1, v1, 4}, {k2, sizeof k2, 0, v2, 1}};
    sb_agg_result res = {s, 2, 5};
    static const char want[] =
        "{\"from\":1733299999.25,\"to\":1733300010,\"step\":0.5,"
        "\"agg\":\"p95\",\"series\":["
        "{\"name\":\"cpu\",\"labels\":{\"host\":\"we\\\"b1\"},\"values\":["
        "[1733300000,45.2],[1733300000.5,\"NaN\"],[1733300001,\"+Inf\"],"
        "[1733300002,\"-Inf\"]]},"
        "{\"name\":\"mem\",\"labels\":{},\"values\":[[0,0.1]]}]}";
    sb_buf b;
    json_t *j;

    (void)state;
    sb__buf_init(&b, SIZE_MAX);
    assert_int_equal(sb__query_json(&res, 1733299999 * SEC + 250 * MS,
                                    1733300010 * SEC, 500 * MS, SB_AGG_P95, &b),
                     SB_OK);
    assert_string_equal(b.data, want);
    j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    json_decref(j);
    sb__buf_free(&b);

    /* no series */
    res.nseries = 0;
    sb__buf_init(&b, SIZE_MAX);
    assert_int_equal(sb__query_json(&res, 0, SEC, SEC, SB_AGG_RATE, &b), SB_OK);
    assert_string_equal(
        b.data,
        "{\"from\":0,\"to\":1,\"step\":1,\"agg\":\"rate\",\"series\":[]}");
    sb__buf_free(&b);

    /* a capped buffer fails cleanly */
    res.nseries = 2;
    sb__buf_init(&b, 64);
    assert_int_equal(sb__query_json(&res, 0, SEC, SEC, SB_AGG_RATE, &b),
                     SB_ETOOLARGE);
    sb__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_params_defaults),
        cmocka_unit_test(test_query_params_all_fields),
        cmocka_unit_test(test_query_params_step_forms),
        cmocka_unit_test(test_query_params_rejects),
        cmocka_unit_test(test_query_params_count_limits),
        cmocka_unit_test(test_metrics_params_take_matchers),
        cmocka_unit_test(test_query_json_unix_seconds),
        cmocka_unit_test(test_query_json_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
