/*
 * test_query.c - GET /api/v1/query and the `match` parameter of
 * GET /metrics and GET /api/v1/series, end to end.
 *
 * One server ($SB_BINARY serve --no-process --no-system --max-points
 * 200000) serves every test but the CORS one, which starts its own with
 * --cors-origin. Each test writes series of its own (names
 * start with the test's topic) about 30 minutes in the past, so tests do
 * not depend on each other; queries name their series or match them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/support/http.h"
#include "e2e/support/proc.h"

#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#define SEC INT64_C(1000000000)

static e2e_proc *g_srv;
static uint16_t g_port;
static int64_t g_base; /* Unix seconds, 30 minutes ago, a multiple of 60 */
/* cmocka does not count a failed group setup or teardown as a failure. */
static bool g_failed;

/* ------------------------------------------------------------ helpers */

static void request(const char *method, const char *pq, const char *body,
                    const char *const *headers, e2e_resp *r)
{
    char url[8192];
    e2e_req req = {.method = method,
                   .url = e2e_url(url, sizeof url, g_port, pq),
                   .headers = headers,
                   .body = body,
                   .body_len = body ? strlen(body) : 0};

    if (e2e_http(&req, r) != 0)
        fail_msg("%s %s: transport error: %s", method ? method : "GET", pq,
                 curl_easy_strerror(r->curl_rc));
}

static void post_ok(const char *body)
{
    e2e_resp r;

    request("POST", "/metrics", body, NULL, &r);
    if (r.status != 204)
        fail_msg("POST: %ld %.300s", r.status, r.body);
    e2e_resp_free(&r);
}

/* GET pq expecting 200 and a JSON body. json_decref the result. */
static json_t *get_json(const char *pq)
{
    e2e_resp r;
    json_t *j;
    char ctype[128] = "";

    request("GET", pq, NULL, NULL, &r);
    if (r.status != 200)
        fail_msg("GET %s: %ld %.400s", pq, r.status, r.body);
    if (!e2e_resp_header(&r, "Content-Type", ctype, sizeof ctype) ||
        strncasecmp(ctype, "application/json", 16) != 0)
        fail_msg("GET %s: Content-Type '%s'", pq, ctype);
    j = e2e_resp_json(&r);
    if (j == NULL)
        fail_msg("GET %s: not JSON: %.400s", pq, r.body);
    e2e_resp_free(&r);
    return j;
}

/* GET pq expecting 400 {"error": "...<phrase>..."}. */
static void expect_400(const char *pq, const char *phrase)
{
    e2e_resp r;
    json_t *j;
    const char *msg;

    request("GET", pq, NULL, NULL, &r);
    j = e2e_resp_json(&r);
    msg = json_string_value(json_object_get(j, "error"));
    if (r.status != 400 || msg == NULL || strstr(msg, phrase) == NULL)
        fail_msg("GET %s: want 400 naming '%s', got %ld %.300s", pq, phrase,
                 r.status, r.body);
    json_decref(j);
    e2e_resp_free(&r);
}

/* Posts name{labels} with value f(i) at g_base + i seconds, i < n. */
static void post_series(const char *name, const char *labels, int n, double mul,
                        double add)
{
    e2e_buf b = {0};

    e2e_buf_printf(&b, "[");
    for (int i = 0; i < n; i++)
        e2e_buf_printf(&b,
                       "%s{\"name\":\"%s\",\"labels\":{%s},\"value\":%.17g,"
                       "\"time\":%lld}",
                       i ? "," : "", name, labels, mul * i + add,
                       (long long)(g_base + i));
    e2e_buf_printf(&b, "]");
    post_ok(b.data);
    e2e_buf_free(&b);
}

static double num(const json_t *v)
{
    const char *s = json_string_value(v);

    if (json_is_number(v))
        return json_number_value(v);
    if (s != NULL && strcmp(s, "NaN") == 0)
        return NAN;
    if (s != NULL && strcmp(s, "+Inf") == 0)
        return INFINITY;
    if (s != NULL && strcmp(s, "-Inf") == 0)
        return -INFINITY;
    fail_msg("not a value");
    return 0;
}

/* Checks series i of a reply: name, labels (a JSON text) and values. */
static void check_series(const json_t *reply, size_t i, const char *name,
                         const char *labels, const double *tv, size_t n)
{
    const json_t *s = json_array_get(json_object_get(reply, "series"), i);
    const json_t *vals = json_object_get(s, "values");
    json_t *want = json_loads(labels, 0, NULL);

    if (s == NULL)
        fail_msg("no series %zu", i);
    assert_string_equal(json_string_value(json_object_get(s, "name")), name);
    assert_non_null(want);
    if (!json_equal(json_object_get(s, "labels"), want))
        fail_msg("series %zu: labels %s, want %s", i,
                 json_dumps(json_object_get(s, "labels"), JSON_COMPACT),
                 labels);
    json_decref(want);
    if (json_array_size(vals) != n)
        fail_msg("series %zu: %zu values, want %zu", i, json_array_size(vals),
                 n);
    for (size_t k = 0; k < n; k++) {
        const json_t *p = json_array_get(vals, k);
        double t = json_number_value(json_array_get(p, 0));
        double v = num(json_array_get(p, 1));

        if (t != tv[2 * k] ||
            !(v == tv[2 * k + 1] || (isnan(v) && isnan(tv[2 * k + 1]))))
            fail_msg("series %zu value %zu: [%.17g, %.17g], want [%.17g, "
                     "%.17g]",
                     i, k, t, v, tv[2 * k], tv[2 * k + 1]);
    }
}

static size_t nseries(const json_t *reply)
{
    return json_array_size(json_object_get(reply, "series"));
}

/* ------------------------------------------------------------ tests */

static void test_query_happy_path(void **state)
{
    char pq[512];
    json_t *j;
    double b = (double)g_base;
    /* avg of i (web1) and 2i+1 (web2) over 10 s buckets, i = 0..29 */
    const double web1[] = {b, 4.5, b + 10, 14.5, b + 20, 24.5};
    const double web2[] = {b, 10, b + 10, 30, b + 20, 50};

    (void)state;
    post_series("hp_cpu", "\"host\":\"web1\"", 30, 1, 0);
    post_series("hp_cpu", "\"host\":\"web2\",\"dc\":\"x\"", 30, 2, 1);
    post_series("hp_other", "\"host\":\"web1\"", 30, 1, 0);

    snprintf(pq, sizeof pq,
             "/api/v1/query?name=hp_cpu&from=%lld&to=%lld&step=10s",
             (long long)g_base, (long long)g_base + 29);
    j = get_json(pq);
    assert_true(json_number_value(json_object_get(j, "from")) == b);
    assert_true(json_number_value(json_object_get(j, "to")) == b + 29);
    assert_true(json_number_value(json_object_get(j, "step")) == 10);
    assert_string_equal(json_string_value(json_object_get(j, "agg")), "avg");
    assert_int_equal(nseries(j), 2);
    /* ordered by name then labels: dc=x sorts before host=web1 */
    check_series(j, 0, "hp_cpu", "{\"dc\":\"x\",\"host\":\"web2\"}", web2, 3);
    check_series(j, 1, "hp_cpu", "{\"host\":\"web1\"}", web1, 3);
    json_decref(j);

    /* step 0.5 s, from/to mid-bucket, agg=max: fractional timestamps */
    snprintf(pq, sizeof pq,
             "/api/v1/query?match=__name__%%3Dhp_cpu&match=host%%3Dweb1"
             "&from=%lld.25&to=%lld.75&step=0.5&agg=max",
             (long long)g_base + 2, (long long)g_base + 3);
    j = get_json(pq);
    assert_true(json_number_value(json_object_get(j, "step")) == 0.5);
    {
        const double want[] = {b + 3, 3};

        assert_int_equal(nseries(j), 1);
        check_series(j, 0, "hp_cpu", "{\"host\":\"web1\"}", want, 1);
    }
    json_decref(j);
}

static void test_query_group_by(void **state)
{
    char pq[512];
    json_t *j;
    double b = (double)g_base;
    const double sum_a[] = {b, 3 * 45 + 10 * 3}; /* i and 2i+3 over 0..9 */
    const double sum_b[] = {b, 45};
    const double cnt[] = {b, 30};

    (void)state;
    post_series("gb_req", "\"route\":\"/a\",\"code\":\"200\"", 10, 1, 0);
    post_series("gb_req", "\"route\":\"/a\",\"code\":\"500\"", 10, 2, 3);
    post_series("gb_req", "\"route\":\"/b\"", 10, 1, 0);

    snprintf(pq, sizeof pq,
             "/api/v1/query?name=gb_req&from=%lld&to=%lld&step=1m&agg=sum"
             "&group_by=route",
             (long long)g_base, (long long)g_base + 59);
    j = get_json(pq);
    assert_int_equal(nseries(j), 2);
    check_series(j, 0, "gb_req", "{\"route\":\"/a\"}", sum_a, 1);
    check_series(j, 1, "gb_req", "{\"route\":\"/b\"}", sum_b, 1);
    json_decref(j);

    /* grouping by a label some series lack: "" groups them */
    snprintf(pq, sizeof pq,
             "/api/v1/query?name=gb_req&from=%lld&to=%lld&step=1m&agg=count"
             "&group_by=code,__name__",
             (long long)g_base, (long long)g_base + 59);
    j = get_json(pq);
    assert_int_equal(nseries(j), 3);
    {
        const double ten[] = {b, 10};

        check_series(j, 0, "gb_req", "{\"code\":\"\"}", ten, 1);
        check_series(j, 1, "gb_req", "{\"code\":\"200\"}", ten, 1);
        check_series(j, 2, "gb_req", "{\"code\":\"500\"}", ten, 1);
    }
    json_decref(j);

    /* one group over everything: labels {} */
    snprintf(pq, sizeof pq,
             "/api/v1/query?match=__name__%%3D~gb_.*&from=%lld&to=%lld"
             "&step=60&agg=count&group_by=__name__",
             (long long)g_base, (long long)g_base + 59);
    j = get_json(pq);
    assert_int_equal(nseries(j), 1);
    check_series(j, 0, "gb_req", "{}", cnt, 1);
    json_decref(j);
}

static void test_query_rate_and_percentiles(void **state)
{
    char pq[512], body[1024];
    json_t *j;
    double b = (double)g_base;
    /* a counter: 0,10,...,40 then reset to 5, 15 (seconds 0..6) */
    const double rate[] = {b, (40 + 5 + 10) / 10.0};
    const double p50[] = {b, 15};

    (void)state;
    snprintf(body, sizeof body,
             "[{\"name\":\"rt_c\",\"value\":0,\"time\":%lld},"
             "{\"name\":\"rt_c\",\"value\":10,\"time\":%lld},"
             "{\"name\":\"rt_c\",\"value\":20,\"time\":%lld},"
             "{\"name\":\"rt_c\",\"value\":30,\"time\":%lld},"
             "{\"name\":\"rt_c\",\"value\":40,\"time\":%lld},"
             "{\"name\":\"rt_c\",\"value\":5,\"time\":%lld},"
             "{\"name\":\"rt_c\",\"value\":15,\"time\":%lld},"
             "{\"name\":\"rt_c\",\"value\":\"NaN\",\"time\":%lld}]",
             (long long)g_base, (long long)g_base + 1, (long long)g_base + 2,
             (long long)g_base + 3, (long long)g_base + 4,
             (long long)g_base + 5, (long long)g_base + 6,
             (long long)g_base + 7);
    post_ok(body);

    snprintf(pq, sizeof pq,
             "/api/v1/query?name=rt_c&from=%lld&to=%lld&step=10s&agg=rate",
             (long long)g_base, (long long)g_base + 9);
    j = get_json(pq);
    check_series(j, 0, "rt_c", "{}", rate, 1);
    json_decref(j);

    /* nearest rank: sorted 0 5 10 15 20 30 40, rank ceil(3.5) = 4 */
    snprintf(pq, sizeof pq,
             "/api/v1/query?name=rt_c&from=%lld&to=%lld&step=10s&agg=p50",
             (long long)g_base, (long long)g_base + 9);
    j = get_json(pq);
    check_series(j, 0, "rt_c", "{}", p50, 1);
    json_decref(j);

    /* last is the NaN, written as the string "NaN" */
    snprintf(pq, sizeof pq,
             "/api/v1/query?name=rt_c&from=%lld&to=%lld&step=10s&agg=last",
             (long long)g_base, (long long)g_base + 9);
    j = get_json(pq);
    {
        const double nan_v[] = {b, NAN};

        check_series(j, 0, "rt_c", "{}", nan_v, 1);
    }
    json_decref(j);
}

static void test_query_head_gzip_and_request_metrics(void **state)
{
    static const char *const gz[] = {"Accept-Encoding: gzip", NULL};
    char pq[512], enc[64] = "";
    e2e_resp r;
    json_t *j = NULL;
    int64_t deadline;

    (void)state;
    post_series("hg_big", "\"k\":\"v\"", 600, 1.5, 0.25);
    snprintf(pq, sizeof pq,
             "/api/v1/query?name=hg_big&from=%lld&to=%lld&step=1s",
             (long long)g_base, (long long)g_base + 600);
    request("HEAD", pq, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    e2e_resp_free(&r);

    request("GET", pq, NULL, gz, &r);
    assert_int_equal(r.status, 200);
    assert_true(e2e_resp_header(&r, "Content-Encoding", enc, sizeof enc));
    assert_string_equal(enc, "gzip");
    e2e_resp_free(&r);

    /* the route has its own request metrics */
    deadline = e2e_now_ms() + 10000 * e2e_slowdown();
    while (e2e_now_ms() < deadline) {
        j = get_json("/api/v1/series?name=scoreboard_http_requests_total"
                     "&match=route%3D/api/v1/query&match=method%3DHEAD");
        if (json_array_size(j) > 0)
            break;
        json_decref(j);
        j = NULL;
        e2e_sleep_ms(100);
    }
    if (j == NULL)
        fail_msg("no request metrics for HEAD /api/v1/query");
    json_decref(j);
}

static void test_matchers_on_metrics_and_series(void **state)
{
    json_t *j;

    (void)state;
    post_series("mt_cpu", "\"host\":\"web1\",\"env\":\"prod\"", 3, 1, 0);
    post_series("mt_cpu", "\"host\":\"web2\"", 3, 1, 0);
    post_series("mt_cpu", "\"host\":\"db1\",\"env\":\"prod\"", 3, 1, 0);
    post_series("mt_mem", "\"host\":\"web1\"", 3, 1, 0);

    j = get_json("/metrics?match=__name__%3D~mt_.*&match=host%3D~web.*");
    assert_int_equal(json_array_size(j), 9);
    json_decref(j);
    j = get_json("/metrics?name=mt_cpu&match=host%3Dweb1&latest=true");
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    /* a series without env has env "" */
    j = get_json("/api/v1/series?name=mt_cpu&match=env!%3Dprod");
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(j, 0), "labels"), "host")),
        "web2");
    json_decref(j);
    j = get_json("/api/v1/series?match=__name__%3D~mt_.*&match=env%3D");
    assert_int_equal(json_array_size(j), 2); /* web2 and mt_mem */
    json_decref(j);
    j = get_json("/api/v1/series?match=__name__%3D~mt_.*&match=host!~web.*");
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    /* anchored: "web" alone matches no host */
    j = get_json("/api/v1/series?match=__name__%3D~mt_.*&match=host%3D~web");
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    expect_400("/metrics?match=host%3D~(", "match 'host=~(': invalid regex");
    expect_400("/api/v1/series?match=host", "match 'host': expected");
    expect_400("/api/v1/series?match=a%3D~x%7B999%7D", "repetition count");
}

static void test_query_every_400(void **state)
{
    static const struct {
        const char *pq, *phrase;
    } bad[] = {
        {"/api/v1/query", "name or match is required"},
        {"/api/v1/query?from=-5m", "name or match is required"},
        {"/api/v1/query?name=a&nope=1", "unknown parameter 'nope'"},
        {"/api/v1/query?name=a&limit=5", "unknown parameter 'limit'"},
        {"/api/v1/query?name=a&from=-1m&from=-2m", "'from' given more"},
        {"/api/v1/query?name=a&to=now&to=now", "'to' given more"},
        {"/api/v1/query?name=a&step=1s&step=1s", "'step' given more"},
        {"/api/v1/query?name=a&agg=sum&agg=sum", "'agg' given more"},
        {"/api/v1/query?name=a&from=bad", "from: expected RFC 3339"},
        {"/api/v1/query?name=a&to=bad", "to: expected RFC 3339"},
        {"/api/v1/query?name=a&from=now&to=-1h", "from must not be later"},
        {"/api/v1/query?name=a&step=0", "step: must be at least 1ms"},
        {"/api/v1/query?name=a&step=1us", "step: must be at least 1ms"},
        {"/api/v1/query?name=a&step=soon", "step: expected a duration"},
        {"/api/v1/query?name=a&agg=mean", "agg: expected"},
        {"/api/v1/query?name=a&group_by=a-b", "group_by: 'a-b'"},
        {"/api/v1/query?name=a&group_by=a,a", "group_by: 'a' given more"},
        {"/api/v1/query?name=", "name: must not be empty"},
        {"/api/v1/query?match=k", "match 'k': expected"},
        {"/api/v1/query?match=k%3D~%5B", "match 'k=~[': invalid regex"},
        {"/api/v1/query?match=k%3D~(a)%5C1", "back-references"},
        {"/api/v1/query?name=a%zz", "percent-escape"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_400(bad[i].pq, bad[i].phrase);
}

/* Other methods: 405 with Allow, OPTIONS 204. */
static void test_query_methods(void **state)
{
    char allow[128] = "";
    e2e_resp r;

    (void)state;
    request("POST", "/api/v1/query?name=a", "{}", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_true(e2e_resp_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "GET, HEAD, OPTIONS");
    e2e_resp_free(&r);
    request("OPTIONS", "/api/v1/query", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    /* the path matches exactly */
    request("GET", "/api/v1/query/?name=a", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    e2e_resp_free(&r);
}

/* A dashboard on another origin may call the route: CORS answer and
 * preflight, from a second server started with --cors-origin. */
static void test_query_cors(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system",
                                       "--cors-origin", "https://dash.example",
                                       NULL};
    static const char *const get_hdr[] = {"Origin: https://dash.example", NULL};
    static const char *const pre_hdr[] = {"Origin: https://dash.example",
                                          "Access-Control-Request-Method: GET",
                                          NULL};
    e2e_proc *srv = e2e_server_start(args);
    char url[256], v[128] = "";
    e2e_resp r;
    e2e_req req = {.url = url, .headers = get_hdr};
    int status = 0;

    (void)state;
    assert_non_null(srv);
    e2e_url(url, sizeof url, e2e_proc_port(srv),
            "/api/v1/query?name=nothing&from=-1m");
    assert_int_equal(e2e_http(&req, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    assert_string_equal(v, "https://dash.example");
    e2e_resp_free(&r);

    req.method = "OPTIONS";
    req.headers = pre_hdr;
    assert_int_equal(e2e_http(&req, &r), 0);
    assert_int_equal(r.status, 204);
    assert_true(
        e2e_resp_header(&r, "Access-Control-Allow-Methods", v, sizeof v));
    assert_non_null(strstr(v, "GET"));
    e2e_resp_free(&r);
    assert_int_equal(
        e2e_proc_stop(srv, SIGTERM, 5000 * e2e_slowdown(), &status, NULL), 0);
    e2e_proc_free(srv);
}

/* More than 100,000 values (the default max_query_values) is a 400. */
static void test_query_value_cap(void **state)
{
    const int per_post = 10000, total = 110000;
    char pq[512], t[E2E_TIME_MAX];
    e2e_buf b = {0};
    json_t *j;

    (void)state;
    for (int start = 0; start < total; start += per_post) {
        e2e_buf_printf(&b, "[");
        for (int i = start; i < start + per_post; i++)
            e2e_buf_printf(
                &b, "%s{\"name\":\"vc\",\"value\":1,\"time\":\"%s\"}",
                i > start ? "," : "",
                e2e_fmt_time(g_base * SEC + i * INT64_C(1000000), t));
        e2e_buf_printf(&b, "]");
        post_ok(b.data);
        e2e_buf_free(&b);
        memset(&b, 0, sizeof b);
    }
    snprintf(pq, sizeof pq, "/api/v1/query?name=vc&from=%lld&to=%lld&step=1ms",
             (long long)g_base, (long long)g_base + 200);
    expect_400(pq, "raise step");
    /* a coarser step answers */
    snprintf(pq, sizeof pq,
             "/api/v1/query?name=vc&from=%lld&to=%lld&step=1s&agg=count",
             (long long)g_base, (long long)g_base + 200);
    j = get_json(pq);
    assert_int_equal(
        json_array_size(json_object_get(
            json_array_get(json_object_get(j, "series"), 0), "values")),
        110);
    json_decref(j);
}

/* ------------------------------------------------------------ main */

static int setup(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system",
                                       "--max-points", "200000", NULL};

    (void)state;
    g_srv = e2e_server_start(args);
    if (g_srv == NULL) {
        g_failed = true;
        return -1;
    }
    g_port = e2e_proc_port(g_srv);
    g_base = (e2e_wall_ns() / SEC - 1800) / 60 * 60;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_srv == NULL)
        return 0;
    if (!e2e_proc_stop_clean(&g_srv)) {
        g_failed = true;
        return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_happy_path),
        cmocka_unit_test(test_query_group_by),
        cmocka_unit_test(test_query_rate_and_percentiles),
        cmocka_unit_test(test_query_head_gzip_and_request_metrics),
        cmocka_unit_test(test_matchers_on_metrics_and_series),
        cmocka_unit_test(test_query_every_400),
        cmocka_unit_test(test_query_methods),
        cmocka_unit_test(test_query_cors),
        cmocka_unit_test(test_query_value_cap),
    };
    int failed = cmocka_run_group_tests_name("query", tests, setup, teardown);

    return failed != 0 || g_failed ? 1 : 0;
}
