/*
 * test_api.c - the HTTP API v1 of `scoreboard serve`, end to end.
 *
 * Each cmocka group starts the real binary ($SB_BINARY) on a free
 * loopback port with the flags the group needs and stops it in the group
 * teardown:
 *   api     defaults minus the process/system collectors
 *   limits  --max-body 4096 --retention 2m --max-points 5
 *   series  --max-series 16, collectors ticking once an hour
 *   cors    two --cors-origin values
 * Tests talk to the server with libcurl and check responses with
 * jansson. Every test writes series of its own (names start with the
 * test's topic), so tests do not depend on each other's data; the
 * server's own request and store series are never assumed absent.
 * Points are timestamped about 30 minutes in the past (inside the default
 * one-hour retention) unless a test is about the time window.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <zlib.h>

static e2e_proc *g_srv;
static uint16_t g_port;
static int64_t g_base_ns; /* 30 minutes ago, on a whole second */
/* cmocka does not count a failed group setup or teardown as a failure. */
static bool g_group_failed;

/* ------------------------------------------------------------ helpers */

/* RFC 3339 time of g_base_ns + ms milliseconds, into out. */
static const char *tbase(int64_t ms, char out[E2E_TIME_MAX])
{
    return e2e_fmt_time(g_base_ns + ms * 1000000, out);
}

static void request(const char *method, const char *pq, const char *body,
                    const char *const *headers, e2e_resp *r)
{
    char url[8192];
    e2e_req req = {.method = method,
                   .url = e2e_url(url, sizeof(url), g_port, pq),
                   .headers = headers,
                   .body = body,
                   .body_len = body ? strlen(body) : 0};

    if (e2e_http(&req, r) != 0)
        fail_msg("%s %s: transport error: %s", method ? method : "GET", pq,
                 curl_easy_strerror(r->curl_rc));
}

/* GET pq, asserting 200 and a JSON array. json_decref the result. */
static json_t *get_array(const char *pq)
{
    e2e_resp r;
    json_t *j;

    request("GET", pq, NULL, NULL, &r);
    if (r.status != 200)
        fail_msg("GET %s: expected 200, got %ld: %.400s", pq, r.status, r.body);
    j = e2e_resp_json(&r);
    if (j == NULL || !json_is_array(j))
        fail_msg("GET %s: body is not a JSON array: %.400s", pq, r.body);
    e2e_resp_free(&r);
    return j;
}

static size_t count_points(const char *name)
{
    char pq[512];
    json_t *j;
    size_t n;

    snprintf(pq, sizeof(pq), "/metrics?name=%s", name);
    j = get_array(pq);
    n = json_array_size(j);
    json_decref(j);
    return n;
}

static void post_expect(const char *body, long status)
{
    e2e_resp r;

    request("POST", "/metrics", body, NULL, &r);
    if (r.status != status)
        fail_msg("POST /metrics %.300s: expected %ld, got %ld: %.300s", body,
                 status, r.status, r.body);
    e2e_resp_free(&r);
}

/*
 * Checks an error response: status, a JSON object body with an "error"
 * string and, when want_index >= 0, "index" equal to it. Returns NULL when
 * all holds, else a static description of what did not.
 */
static const char *error_body_problem(const e2e_resp *r, long status,
                                      long want_index)
{
    static char why[256];
    json_t *j, *idx;
    const char *problem = NULL;
    char ctype[128] = "";

    if (r->status != status) {
        snprintf(why, sizeof(why), "status %ld, want %ld", r->status, status);
        return why;
    }
    j = e2e_resp_json(r);
    if (j == NULL || !json_is_string(json_object_get(j, "error")))
        problem = "body is not {\"error\": string}";
    else if (json_string_length(json_object_get(j, "error")) == 0)
        problem = "empty error message";
    else if (!e2e_resp_header(r, "Content-Type", ctype, sizeof(ctype)) ||
             strncasecmp(ctype, "application/json", 16) != 0)
        problem = "Content-Type is not application/json";
    if (problem == NULL && want_index >= 0) {
        idx = json_object_get(j, "index");
        if (!json_is_number(idx) || json_number_value(idx) != want_index) {
            snprintf(why, sizeof(why), "\"index\" missing or not %ld",
                     want_index);
            problem = why;
        }
    }
    json_decref(j);
    return problem;
}

static void expect_error(const e2e_resp *r, long status, long want_index,
                         const char *what)
{
    const char *problem = error_body_problem(r, status, want_index);

    if (problem != NULL)
        fail_msg("%s: %s; body: %.300s", what, problem, r->body);
}

/* The "value" member as a double: numbers, or NaN/+Inf/-Inf strings. */
static double value_of(const json_t *pt)
{
    const json_t *v = json_object_get(pt, "value");
    const char *s;

    if (json_is_number(v))
        return json_number_value(v);
    s = json_string_value(v);
    if (s != NULL && strcmp(s, "NaN") == 0)
        return NAN;
    if (s != NULL && strcmp(s, "+Inf") == 0)
        return INFINITY;
    if (s != NULL && strcmp(s, "-Inf") == 0)
        return -INFINITY;
    fail_msg("point has a bad \"value\"");
    return 0;
}

static int64_t time_of(const json_t *pt)
{
    const char *s = json_string_value(json_object_get(pt, "time"));
    int64_t ns = 0;

    if (s == NULL || !e2e_parse_time(s, &ns))
        fail_msg("point has a bad \"time\": %s", s ? s : "(missing)");
    return ns;
}

/* Shape of one point of GET /metrics; NULL when fine. */
static const char *point_problem(const json_t *pt)
{
    const json_t *labels = json_object_get(pt, "labels"), *v;
    const char *t = json_string_value(json_object_get(pt, "time"));
    const char *key, *dot;
    int64_t ns;

    if (!json_is_object(pt))
        return "not an object";
    if (!json_is_string(json_object_get(pt, "name")))
        return "no string \"name\"";
    v = json_object_get(pt, "value");
    if (!json_is_number(v) &&
        !(json_is_string(v) && (strcmp(json_string_value(v), "NaN") == 0 ||
                                strcmp(json_string_value(v), "+Inf") == 0 ||
                                strcmp(json_string_value(v), "-Inf") == 0)))
        return "bad \"value\"";
    if (t == NULL || !e2e_parse_time(t, &ns))
        return "bad \"time\" (want YYYY-MM-DDTHH:MM:SS[.frac]Z)";
    dot = strchr(t, '.');
    if (dot != NULL && t[strlen(t) - 2] == '0')
        return "\"time\" fraction has trailing zeros";
    if (labels != NULL) {
        if (!json_is_object(labels) || json_object_size(labels) == 0)
            return "\"labels\" present but not a non-empty object";
        json_object_foreach((json_t *)(uintptr_t)labels, key, v)
        {
            if (!json_is_string(v))
                return "label value not a string";
        }
    }
    if (json_object_size(pt) != 3u + (labels != NULL))
        return "unexpected members";
    return NULL;
}

static void assert_points_sane(const json_t *arr)
{
    int64_t prev = INT64_MIN, t;
    const char *problem;
    size_t i;
    json_t *pt;

    json_array_foreach(arr, i, pt)
    {
        problem = point_problem(pt);
        if (problem != NULL)
            fail_msg("point %zu: %s: %s", i, problem,
                     json_dumps(pt, JSON_COMPACT));
        t = time_of(pt);
        if (t < prev)
            fail_msg("point %zu is older than point %zu", i, i - 1);
        prev = t;
    }
}

/* Asserts arr[i] is (name, value, base + ms). */
static void assert_point_at(const json_t *arr, size_t i, const char *name,
                            double value, int64_t ms)
{
    const json_t *pt = json_array_get(arr, i);

    if (pt == NULL)
        fail_msg("no point %zu (array has %zu)", i, json_array_size(arr));
    assert_string_equal(json_string_value(json_object_get(pt, "name")), name);
    assert_true(value_of(pt) == value);
    assert_true(time_of(pt) == g_base_ns + ms * 1000000);
}

static uint16_t start_group_server(const char *const *extra)
{
    g_srv = e2e_server_start(extra);
    if (g_srv == NULL) {
        g_group_failed = true;
        return 0;
    }
    g_port = e2e_proc_port(g_srv);
    g_base_ns = (e2e_wall_ns() / 1000000000 - 1800) * 1000000000;
    return g_port;
}

static int setup_api(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system", NULL};

    (void)state;
    return start_group_server(args) ? 0 : -1;
}

static int setup_limits(void **state)
{
    static const char *const args[] = {
        "--no-process", "--no-system",  "--max-body", "4096", "--retention",
        "2m",           "--max-points", "5",          NULL};

    (void)state;
    return start_group_server(args) ? 0 : -1;
}

static int setup_series(void **state)
{
    static const char *const args[] = {
        "--no-process", "--no-system", "--max-series", "16", "--interval",
        "1h",           NULL};

    (void)state;
    return start_group_server(args) ? 0 : -1;
}

static int setup_cors(void **state)
{
    static const char *const args[] = {"--no-process",
                                       "--no-system",
                                       "--cors-origin",
                                       "https://dash.example",
                                       "--cors-origin",
                                       "https://other.example",
                                       NULL};

    (void)state;
    return start_group_server(args) ? 0 : -1;
}

/* Stops the group's server and checks it exited cleanly on SIGTERM. */
static int teardown_server(void **state)
{
    (void)state;
    if (g_srv == NULL)
        return 0; /* the setup failed and said so */
    if (!e2e_proc_stop_clean(&g_srv)) {
        g_group_failed = true;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ basics */

static void test_healthz_reports_ok(void **state)
{
    e2e_resp r;
    char ctype[128];
    json_t *j;

    (void)state;
    request("GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(e2e_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
    assert_true(strncasecmp(ctype, "application/json", 16) == 0);
    j = e2e_resp_json(&r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    e2e_resp_free(&r);
}

static void test_get_metrics_is_json_array_oldest_first(void **state)
{
    char t[E2E_TIME_MAX], body[256], ctype[128];
    e2e_resp r;
    json_t *j;

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"shape_a\",\"value\":1,"
             "\"time\":\"%s\"}",
             tbase(0, t));
    post_expect(body, 204);

    request("GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(e2e_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
    assert_true(strncasecmp(ctype, "application/json", 16) == 0);
    j = e2e_resp_json(&r);
    assert_non_null(j);
    assert_true(json_is_array(j));
    assert_true(json_array_size(j) >= 1);
    assert_points_sane(j);
    json_decref(j);
    e2e_resp_free(&r);
}

static void test_post_single_point_round_trips(void **state)
{
    char t[E2E_TIME_MAX], body[512];
    json_t *arr, *pt, *want_labels;

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"single_pt\",\"value\":45.25,\"time\":\"%s\","
             "\"labels\":{\"host\":\"a\",\"dc\":\"eu-1\"}}",
             tbase(1500, t));
    post_expect(body, 204);

    arr = get_array("/metrics?name=single_pt");
    assert_int_equal(json_array_size(arr), 1);
    assert_points_sane(arr);
    assert_point_at(arr, 0, "single_pt", 45.25, 1500);
    pt = json_array_get(arr, 0);
    want_labels = json_pack("{s:s, s:s}", "host", "a", "dc", "eu-1");
    assert_true(json_equal(json_object_get(pt, "labels"), want_labels));
    /* 1.5 s past a whole second: printed with the fraction trimmed. */
    assert_non_null(
        strstr(json_string_value(json_object_get(pt, "time")), ".5Z"));
    json_decref(want_labels);
    json_decref(arr);
}

static void test_labels_omitted_when_empty(void **state)
{
    char t[E2E_TIME_MAX], body[512];
    json_t *arr;

    (void)state;
    snprintf(body, sizeof(body),
             "[{\"name\":\"nolabels_a\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"nolabels_b\",\"value\":2,\"time\":\"%s\","
             "\"labels\":{}}]",
             tbase(0, t), t);
    post_expect(body, 204);

    arr = get_array("/metrics?name=nolabels_a&name=nolabels_b");
    assert_int_equal(json_array_size(arr), 2);
    assert_null(json_object_get(json_array_get(arr, 0), "labels"));
    assert_null(json_object_get(json_array_get(arr, 1), "labels"));
    json_decref(arr);
}

static void test_post_array_stores_every_point(void **state)
{
    e2e_buf b = {0};
    char t[E2E_TIME_MAX];
    json_t *arr;

    (void)state;
    e2e_buf_printf(&b, "[");
    for (int i = 0; i < 20; i++)
        e2e_buf_printf(&b,
                       "%s{\"name\":\"array_pts\",\"value\":%d,"
                       "\"time\":\"%s\"}",
                       i ? "," : "", i, tbase(i * 10, t));
    e2e_buf_printf(&b, "]");
    post_expect(b.data, 204);
    e2e_buf_free(&b);

    arr = get_array("/metrics?name=array_pts");
    assert_int_equal(json_array_size(arr), 20);
    for (int i = 0; i < 20; i++)
        assert_point_at(arr, (size_t)i, "array_pts", i, i * 10);
    json_decref(arr);
}

static void test_post_empty_array_is_accepted(void **state)
{
    json_t *before, *after;

    (void)state;
    before = get_array("/api/v1/series");
    post_expect("[]", 204);
    post_expect(" [ ] ", 204);
    after = get_array("/api/v1/series");
    /* Only the server's own series may have appeared in between. */
    assert_true(json_array_size(after) >= json_array_size(before));
    json_decref(before);
    json_decref(after);
}

static void test_post_without_time_uses_now(void **state)
{
    int64_t before = e2e_wall_ns(), after, t;
    json_t *arr;

    (void)state;
    post_expect("{\"name\":\"notime_pt\",\"value\":3}", 204);
    after = e2e_wall_ns();
    arr = get_array("/metrics?name=notime_pt");
    assert_int_equal(json_array_size(arr), 1);
    t = time_of(json_array_get(arr, 0));
    /* Same clock; a millisecond of slack for rounding. */
    assert_true(t >= before - 1000000 && t <= after + 1000000);
    json_decref(arr);
}

static void test_post_unix_seconds_time(void **state)
{
    char body[512];
    long long secs = (long long)(g_base_ns / 1000000000);
    json_t *arr;

    (void)state;
    snprintf(body, sizeof(body),
             "[{\"name\":\"unix_pt\",\"value\":1,\"time\":%lld},"
             "{\"name\":\"unix_pt\",\"value\":2,\"time\":%lld.25},"
             "{\"name\":\"unix_pt\",\"value\":3,\"time\":%lld.0}]",
             secs + 2, secs + 2, secs + 3);
    post_expect(body, 204);

    arr = get_array("/metrics?name=unix_pt");
    assert_int_equal(json_array_size(arr), 3);
    assert_point_at(arr, 0, "unix_pt", 1, 2000);
    assert_point_at(arr, 1, "unix_pt", 2, 2250);
    assert_point_at(arr, 2, "unix_pt", 3, 3000);
    json_decref(arr);
}

static void test_post_accepts_any_content_type(void **state)
{
    static const char *const types[] = {
        NULL, /* curl -d: application/x-www-form-urlencoded */
        "Content-Type: application/json",
        "Content-Type: text/plain",
        "Content-Type: application/octet-stream",
    };
    char t[E2E_TIME_MAX], body[256];
    const char *hdrs[2];
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        hdrs[0] = types[i];
        hdrs[1] = NULL;
        snprintf(body, sizeof(body),
                 "{\"name\":\"ctype_pt\",\"value\":%zu,\"time\":\"%s\"}", i,
                 tbase((int64_t)i, t));
        request("POST", "/metrics", body, types[i] ? hdrs : NULL, &r);
        if (r.status != 204)
            fail_msg("POST with %s: got %ld: %s",
                     types[i] ? types[i] : "curl's default type", r.status,
                     r.body);
        e2e_resp_free(&r);
    }
    assert_int_equal(count_points("ctype_pt"), 4);
}

static void test_post_chunked_body_is_accepted(void **state)
{
    static const char *const chunked[] = {"Transfer-Encoding: chunked", NULL};
    char t[E2E_TIME_MAX], body[256];
    e2e_resp r;

    (void)state;
    snprintf(body, sizeof(body),
             "[{\"name\":\"chunked_pt\",\"value\":7,\"time\":\"%s\"}]",
             tbase(0, t));
    request("POST", "/metrics", body, chunked, &r);
    if (r.status != 204)
        fail_msg("chunked POST: got %ld: %s", r.status, r.body);
    e2e_resp_free(&r);
    assert_int_equal(count_points("chunked_pt"), 1);
}

static void test_nonfinite_values_round_trip(void **state)
{
    char t[E2E_TIME_MAX], body[1024];
    json_t *arr;

    (void)state;
    snprintf(body, sizeof(body),
             "[{\"name\":\"nonfinite\",\"value\":\"NaN\",\"time\":\"%s\"},",
             tbase(0, t));
    snprintf(body + strlen(body), sizeof(body) - strlen(body),
             "{\"name\":\"nonfinite\",\"value\":\"+Inf\",\"time\":\"%s\"},",
             tbase(1, t));
    snprintf(body + strlen(body), sizeof(body) - strlen(body),
             "{\"name\":\"nonfinite\",\"value\":\"-Inf\",\"time\":\"%s\"},",
             tbase(2, t));
    snprintf(body + strlen(body), sizeof(body) - strlen(body),
             "{\"name\":\"nonfinite\",\"value\":\"Inf\",\"time\":\"%s\"}]",
             tbase(3, t));
    post_expect(body, 204);

    arr = get_array("/metrics?name=nonfinite");
    assert_int_equal(json_array_size(arr), 4);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(arr, 0), "value")),
        "NaN");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(arr, 1), "value")),
        "+Inf");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(arr, 2), "value")),
        "-Inf");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(arr, 3), "value")),
        "+Inf");
    json_decref(arr);
}

static void test_finite_values_round_trip_exactly(void **state)
{
    static const char *const texts[] = {
        "0",
        "-0.0",
        "0.1",
        "-2.5",
        "1e308",
        "-1e-308",
        "5e-324",
        "1.7976931348623157e308",
        "123456789.123456789",
        "9007199254740993",
        "100000000000000000000",
        "0.30000000000000004",
        "1E3",
        "2.5e-7",
    };
    size_t n = sizeof(texts) / sizeof(texts[0]);
    char t[E2E_TIME_MAX];
    e2e_buf b = {0};
    json_t *arr;
    double want;

    (void)state;
    e2e_buf_printf(&b, "[");
    for (size_t i = 0; i < n; i++)
        e2e_buf_printf(&b,
                       "%s{\"name\":\"finite\",\"value\":%s,"
                       "\"time\":\"%s\"}",
                       i ? "," : "", texts[i], tbase((int64_t)i, t));
    e2e_buf_printf(&b, "]");
    post_expect(b.data, 204);
    e2e_buf_free(&b);

    arr = get_array("/metrics?name=finite");
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        want = strtod(texts[i], NULL);
        if (value_of(json_array_get(arr, i)) != want)
            fail_msg("value %s came back as %.17g", texts[i],
                     value_of(json_array_get(arr, i)));
    }
    json_decref(arr);
}

static void test_label_values_round_trip_escapes_and_utf8(void **state)
{
    /* Quotes, backslash, control bytes, 2/3/4-byte UTF-8, a slash. */
    static const char value_json[] =
        "\"a \\\"q\\\" \\\\ \\n\\t\\u0001 \\u00e9 \\u2603 \\ud83d\\ude00 /\"";
    char t[E2E_TIME_MAX], body[512];
    json_t *arr, *want;
    json_error_t err;

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"esc_pt\",\"value\":1,\"time\":\"%s\","
             "\"labels\":{\"path\":%s}}",
             tbase(0, t), value_json);
    post_expect(body, 204);

    arr = get_array("/metrics?name=esc_pt");
    assert_int_equal(json_array_size(arr), 1);
    want = json_loads(value_json, JSON_DECODE_ANY, &err);
    assert_non_null(want);
    assert_true(json_equal(
        json_object_get(json_object_get(json_array_get(arr, 0), "labels"),
                        "path"),
        want));
    json_decref(want);
    json_decref(arr);
}

static void test_same_series_same_time_replaces_value(void **state)
{
    char t[E2E_TIME_MAX], body[256];
    json_t *arr;

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"replace_pt\",\"value\":1,\"time\":\"%s\","
             "\"labels\":{\"k\":\"v\"}}",
             tbase(0, t));
    post_expect(body, 204);
    snprintf(body, sizeof(body),
             "{\"name\":\"replace_pt\",\"value\":2,\"time\":\"%s\","
             "\"labels\":{\"k\":\"v\"}}",
             tbase(0, t));
    post_expect(body, 204);

    arr = get_array("/metrics?name=replace_pt");
    assert_int_equal(json_array_size(arr), 1);
    assert_point_at(arr, 0, "replace_pt", 2, 0);
    json_decref(arr);
}

/* -------------------------------------------------------- GET filters */

/* Posts series filt_a, filt_b, filt_c: a@1s a@3s a@5s b@2s b@4s c@0s. */
static void post_filter_fixture(const char *prefix)
{
    static const struct {
        const char *series;
        int sec;
    } pts[] = {{"a", 5}, {"b", 2}, {"a", 1}, {"c", 0}, {"b", 4}, {"a", 3}};
    char t[E2E_TIME_MAX];
    e2e_buf b = {0};

    e2e_buf_printf(&b, "[");
    for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++)
        e2e_buf_printf(&b,
                       "%s{\"name\":\"%s_%s\",\"value\":%d,"
                       "\"time\":\"%s\"}",
                       i ? "," : "", prefix, pts[i].series, pts[i].sec,
                       tbase(pts[i].sec * 1000, t));
    e2e_buf_printf(&b, "]");
    post_expect(b.data, 204);
    e2e_buf_free(&b);
}

static void test_get_orders_oldest_first_across_series(void **state)
{
    json_t *arr;

    (void)state;
    post_filter_fixture("ord");
    arr = get_array("/metrics?name=ord_a&name=ord_b&name=ord_c");
    assert_int_equal(json_array_size(arr), 6);
    assert_point_at(arr, 0, "ord_c", 0, 0);
    assert_point_at(arr, 1, "ord_a", 1, 1000);
    assert_point_at(arr, 2, "ord_b", 2, 2000);
    assert_point_at(arr, 3, "ord_a", 3, 3000);
    assert_point_at(arr, 4, "ord_b", 4, 4000);
    assert_point_at(arr, 5, "ord_a", 5, 5000);
    json_decref(arr);
}

static void test_get_filters_by_repeated_name(void **state)
{
    json_t *arr;
    size_t i;
    json_t *pt;

    (void)state;
    post_filter_fixture("rep");
    arr = get_array("/metrics?name=rep_a&name=rep_c");
    assert_int_equal(json_array_size(arr), 4);
    json_array_foreach(arr, i, pt)
    {
        const char *n = json_string_value(json_object_get(pt, "name"));
        assert_true(strcmp(n, "rep_a") == 0 || strcmp(n, "rep_c") == 0);
    }
    json_decref(arr);
    arr = get_array("/metrics?name=rep_b");
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
    arr = get_array("/metrics?name=rep_none");
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    /* Exact names: neither prefixes nor patterns match. */
    arr = get_array("/metrics?name=rep_&name=rep_*&name=rep_.");
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
}

static void test_get_since_until_rfc3339_inclusive(void **state)
{
    char t1[E2E_TIME_MAX], t3[E2E_TIME_MAX], pq[512];
    json_t *arr;

    (void)state;
    post_filter_fixture("rfc");
    snprintf(pq, sizeof(pq), "/metrics?name=rfc_a&name=rfc_b&since=%s&until=%s",
             tbase(1000, t1), tbase(3000, t3));
    arr = get_array(pq);
    assert_int_equal(json_array_size(arr), 3);
    assert_point_at(arr, 0, "rfc_a", 1, 1000);
    assert_point_at(arr, 2, "rfc_a", 3, 3000);
    json_decref(arr);

    /* The same instant written with a +01:00 offset ('+' as %2B). */
    {
        time_t secs = (time_t)(g_base_ns / 1000000000) + 3600 + 2;
        struct tm tm;
        char local[64];

        gmtime_r(&secs, &tm);
        strftime(local, sizeof(local), "%Y-%m-%dT%H:%M:%S%%2B01:00", &tm);
        snprintf(pq, sizeof(pq), "/metrics?name=rfc_b&since=%s", local);
    }
    arr = get_array(pq);
    assert_int_equal(json_array_size(arr), 2);
    assert_point_at(arr, 0, "rfc_b", 2, 2000);
    json_decref(arr);
}

static void test_get_since_until_unix_seconds(void **state)
{
    long long secs = (long long)(g_base_ns / 1000000000);
    char pq[512];
    json_t *arr;

    (void)state;
    post_filter_fixture("unixq");
    snprintf(pq, sizeof(pq), "/metrics?name=unixq_a&since=%lld&until=%lld",
             secs + 2, secs + 5);
    arr = get_array(pq);
    assert_int_equal(json_array_size(arr), 2);
    assert_point_at(arr, 0, "unixq_a", 3, 3000);
    assert_point_at(arr, 1, "unixq_a", 5, 5000);
    json_decref(arr);
    snprintf(pq, sizeof(pq), "/metrics?name=unixq_a&until=%lld.5", secs + 1);
    arr = get_array(pq);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
}

static void test_get_since_until_relative_and_now(void **state)
{
    int64_t now = e2e_wall_ns();
    char t1[E2E_TIME_MAX], t2[E2E_TIME_MAX], t3[E2E_TIME_MAX], body[512];
    json_t *arr;

    (void)state;
    snprintf(body, sizeof(body),
             "[{\"name\":\"rel_pt\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"rel_pt\",\"value\":2,\"time\":\"%s\"},"
             "{\"name\":\"rel_pt\",\"value\":3,\"time\":\"%s\"}]",
             e2e_fmt_time(now - 600 * 1000000000LL, t1),
             e2e_fmt_time(now - 60 * 1000000000LL, t2),
             e2e_fmt_time(now + 120 * 1000000000LL, t3));
    post_expect(body, 204);

    arr = get_array("/metrics?name=rel_pt&since=-5m");
    assert_int_equal(json_array_size(arr), 2);
    assert_true(value_of(json_array_get(arr, 0)) == 2);
    json_decref(arr);
    arr = get_array("/metrics?name=rel_pt&until=now");
    assert_int_equal(json_array_size(arr), 2);
    assert_true(value_of(json_array_get(arr, 1)) == 2);
    json_decref(arr);
    arr = get_array("/metrics?name=rel_pt&since=-5m&until=now");
    assert_int_equal(json_array_size(arr), 1);
    assert_true(value_of(json_array_get(arr, 0)) == 2);
    json_decref(arr);
    arr = get_array("/metrics?name=rel_pt&since=now");
    assert_int_equal(json_array_size(arr), 1);
    assert_true(value_of(json_array_get(arr, 0)) == 3);
    json_decref(arr);
}

static void test_get_limit_keeps_newest_overall(void **state)
{
    json_t *arr;

    (void)state;
    post_filter_fixture("lim");
    arr = get_array("/metrics?name=lim_a&name=lim_b&name=lim_c&limit=2");
    assert_int_equal(json_array_size(arr), 2);
    assert_point_at(arr, 0, "lim_b", 4, 4000);
    assert_point_at(arr, 1, "lim_a", 5, 5000);
    json_decref(arr);
    arr = get_array("/metrics?name=lim_a&name=lim_b&name=lim_c&limit=100");
    assert_int_equal(json_array_size(arr), 6);
    json_decref(arr);
}

static void test_get_latest_keeps_newest_per_series(void **state)
{
    json_t *arr;

    (void)state;
    post_filter_fixture("lat");
    arr = get_array("/metrics?name=lat_a&name=lat_b&name=lat_c&latest=true");
    assert_int_equal(json_array_size(arr), 3);
    assert_point_at(arr, 0, "lat_c", 0, 0);
    assert_point_at(arr, 1, "lat_b", 4, 4000);
    assert_point_at(arr, 2, "lat_a", 5, 5000);
    json_decref(arr);
}

static void test_series_endpoint_lists_counts_and_range(void **state)
{
    char t1[E2E_TIME_MAX], t2[E2E_TIME_MAX], t3[E2E_TIME_MAX], body[1024];
    json_t *arr, *s, *want_labels;
    const char *host;
    size_t i;
    int seen = 0;

    (void)state;
    snprintf(body, sizeof(body),
             "[{\"name\":\"ser_x\",\"value\":1,\"time\":\"%s\","
             "\"labels\":{\"host\":\"a\"}},"
             "{\"name\":\"ser_x\",\"value\":1,\"time\":\"%s\","
             "\"labels\":{\"host\":\"a\"}},"
             "{\"name\":\"ser_x\",\"value\":1,\"time\":\"%s\","
             "\"labels\":{\"host\":\"a\"}},"
             "{\"name\":\"ser_x\",\"value\":1,\"time\":\"%s\","
             "\"labels\":{\"host\":\"b\"}}]",
             tbase(1000, t1), tbase(2000, t2), tbase(3000, t3), t2);
    post_expect(body, 204);

    arr = get_array("/api/v1/series?name=ser_x");
    assert_int_equal(json_array_size(arr), 2);
    json_array_foreach(arr, i, s)
    {
        bool is_a;
        int64_t first, last;

        assert_string_equal(json_string_value(json_object_get(s, "name")),
                            "ser_x");
        host = json_string_value(
            json_object_get(json_object_get(s, "labels"), "host"));
        assert_non_null(host);
        want_labels = json_pack("{s:s}", "host", host);
        assert_true(json_equal(json_object_get(s, "labels"), want_labels));
        json_decref(want_labels);
        is_a = strcmp(host, "a") == 0;
        seen |= is_a ? 1 : 2;
        assert_true(json_number_value(json_object_get(s, "points")) ==
                    (is_a ? 3 : 1));
        assert_true(e2e_parse_time(
            json_string_value(json_object_get(s, "first")), &first));
        assert_true(e2e_parse_time(
            json_string_value(json_object_get(s, "last")), &last));
        assert_true(first == g_base_ns + (is_a ? 1000 : 2000) * 1000000LL);
        assert_true(last == g_base_ns + (is_a ? 3000 : 2000) * 1000000LL);
    }
    assert_int_equal(seen, 3);
    json_decref(arr);
}

/* ------------------------------------------------------ bad GET params */

static void test_get_rejects_unknown_and_bad_params(void **state)
{
    static const char *const bad[] = {
        "/metrics?foo=1",
        "/metrics?name=a&bogus=",
        "/metrics?since=garbage",
        "/metrics?since=",
        "/metrics?since=2026-13-45T00:00:00Z",
        "/metrics?since=-5x",
        "/metrics?since=1e999",
        "/metrics?until=garbage",
        "/metrics?until=-",
        "/metrics?until=99999999999999999999",
        "/metrics?limit=abc",
        "/metrics?limit=-1",
        "/metrics?limit=1.5",
        "/metrics?limit=",
        "/metrics?limit=99999999999999999999999",
        "/metrics?latest=maybe",
        "/metrics?latest=yes",
        "/metrics?name=%zz",
        "/metrics?name=a%00b",
        "/api/v1/series?foo=1",
        "/api/v1/series?since=garbage",
        "/api/v1/series?until=garbage",
    };
    int failures = 0;
    const char *problem;
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        request("GET", bad[i], NULL, NULL, &r);
        problem = error_body_problem(&r, 400, -1);
        if (problem != NULL) {
            print_error("GET %s: want 400 JSON error: %s; body %.200s\n",
                        bad[i], problem, r.body);
            failures++;
        }
        e2e_resp_free(&r);
    }
    assert_int_equal(failures, 0);
}

static void test_get_accepts_valid_param_forms(void **state)
{
    static const char *const good[] = {
        "/metrics?latest=true",  "/metrics?latest=false",
        "/metrics?limit=1",      "/metrics?since=now&until=now",
        "/metrics?since=-1h",    "/metrics?since=-1h30m&until=-500ms",
        "/metrics?since=0",      "/metrics?name=a&name=b&name=c",
        "/api/v1/series?name=a", "/api/v1/series?since=-5m&until=now",
    };
    int failures = 0;
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        request("GET", good[i], NULL, NULL, &r);
        if (r.status != 200) {
            print_error("GET %s: want 200, got %ld: %.200s\n", good[i],
                        r.status, r.body);
            failures++;
        }
        e2e_resp_free(&r);
    }
    assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------- bad POSTs */

static void test_batch_is_atomic(void **state)
{
    static const char *const names[] = {"atom_a", "atom_b", "atom_c", "atom_d",
                                        "atom_e"};
    char t[E2E_TIME_MAX], body[1024];
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(count_points(names[i]), 0);
    snprintf(body, sizeof(body),
             "[{\"name\":\"atom_a\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"atom_b\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"atom_c\",\"value\":\"abc\",\"time\":\"%s\"},"
             "{\"name\":\"atom_d\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"atom_e\",\"value\":1,\"time\":\"%s\"}]",
             tbase(0, t), t, t, t, t);
    request("POST", "/metrics", body, NULL, &r);
    expect_error(&r, 400, 2, "batch with a bad 3rd point");
    e2e_resp_free(&r);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(count_points(names[i]), 0);

    /* The same with the store refusing the 3rd point (a bad name). */
    snprintf(body, sizeof(body),
             "[{\"name\":\"atom_a\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"atom_b\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"9bad name\",\"value\":1,\"time\":\"%s\"},"
             "{\"name\":\"atom_d\",\"value\":1,\"time\":\"%s\"}]",
             tbase(0, t), t, t, t);
    request("POST", "/metrics", body, NULL, &r);
    expect_error(&r, 400, 2, "batch with a bad 3rd name");
    e2e_resp_free(&r);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(count_points(names[i]), 0);
}

typedef struct bad_case {
    const char *what;
    const char *point; /* JSON text of the bad point; @T = a valid time */
    bool point_level;  /* a JSON-valid point: "index" must be 1 */
} bad_case;

static const bad_case bad_points[] = {
    {"missing name", "{\"value\":1,\"time\":\"@T\"}", true},
    {"missing value", "{\"name\":\"bp\",\"time\":\"@T\"}", true},
    {"value bool", "{\"name\":\"bp\",\"value\":true,\"time\":\"@T\"}", true},
    {"value null", "{\"name\":\"bp\",\"value\":null,\"time\":\"@T\"}", true},
    {"value \"abc\"", "{\"name\":\"bp\",\"value\":\"abc\",\"time\":\"@T\"}",
     true},
    {"value numeric string",
     "{\"name\":\"bp\",\"value\":\"1.5\",\"time\":\"@T\"}", true},
    {"value object", "{\"name\":\"bp\",\"value\":{},\"time\":\"@T\"}", true},
    {"value array", "{\"name\":\"bp\",\"value\":[1],\"time\":\"@T\"}", true},
    {"name not a string", "{\"name\":5,\"value\":1,\"time\":\"@T\"}", true},
    {"name empty", "{\"name\":\"\",\"value\":1,\"time\":\"@T\"}", true},
    {"name starts with digit", "{\"name\":\"1bp\",\"value\":1,\"time\":\"@T\"}",
     true},
    {"name with space", "{\"name\":\"b p\",\"value\":1,\"time\":\"@T\"}", true},
    {"bad time string", "{\"name\":\"bp\",\"value\":1,\"time\":\"yesterday\"}",
     true},
    {"time without zone",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"2026-01-01T00:00:00\"}", true},
    {"time negative number", "{\"name\":\"bp\",\"value\":1,\"time\":-5}", true},
    {"time bool", "{\"name\":\"bp\",\"value\":1,\"time\":true}", true},
    {"time 1e300", "{\"name\":\"bp\",\"value\":1,\"time\":1e300}", true},
    {"time year 9999",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"9999-01-01T00:00:00Z\"}", true},
    {"time older than retention",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"2000-01-01T00:00:00Z\"}", true},
    {"labels a string",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":\"a=b\"}", true},
    {"labels an array",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":[\"a\"]}", true},
    {"labels a number",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":5}", true},
    {"label value number",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"k\":1}}",
     true},
    {"label value null",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"k\":null}}",
     true},
    {"label value object",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"k\":{}}}",
     true},
    {"label key with dash",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"a-b\":\"v\"}}",
     true},
    {"label key empty",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"\":\"v\"}}",
     true},
    {"unknown field",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"unit\":\"s\"}", true},
    {"point not an object", "5", true},
    {"point an array", "[{\"name\":\"bp\",\"value\":1,\"time\":\"@T\"}]", true},
    /* Body-level failures: "index" is not required. */
    {"duplicate keys",
     "{\"name\":\"bp\",\"name\":\"bq\",\"value\":1,\"time\":\"@T\"}", false},
    {"duplicate value keys",
     "{\"name\":\"bp\",\"value\":1,\"value\":2,\"time\":\"@T\"}", false},
    {"huge number 1e400", "{\"name\":\"bp\",\"value\":1e400,\"time\":\"@T\"}",
     false},
    {"huge negative -1e400",
     "{\"name\":\"bp\",\"value\":-1e400,\"time\":\"@T\"}", false},
    {"\\u0000 in name", "{\"name\":\"b\\u0000p\",\"value\":1,\"time\":\"@T\"}",
     false},
    {"\\u0000 in label value",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"k\":"
     "\"a\\u0000\"}}",
     false},
    {"invalid UTF-8 in name",
     "{\"name\":\"b\xff\",\"value\":1,\"time\":\"@T\"}", false},
    {"overlong UTF-8 in label",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"k\":"
     "\"\xc0\xaf\"}}",
     false},
    {"lone surrogate escape",
     "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",\"labels\":{\"k\":"
     "\"\\ud800\"}}",
     false},
    {"raw control byte in string",
     "{\"name\":\"b\x01p\",\"value\":1,\"time\":\"@T\"}", false},
    {"NaN literal", "{\"name\":\"bp\",\"value\":NaN,\"time\":\"@T\"}", false},
    {"trailing comma", "{\"name\":\"bp\",\"value\":1,\"time\":\"@T\",}", false},
};

/* Copies tmpl into out (size n) with every "@T" replaced by t. */
static void subst_time(const char *tmpl, const char *t, char *out, size_t n)
{
    size_t len = 0, tl = strlen(t);

    while (*tmpl != '\0' && len + tl + 1 < n) {
        if (tmpl[0] == '@' && tmpl[1] == 'T') {
            memcpy(out + len, t, tl);
            len += tl;
            tmpl += 2;
        } else {
            out[len++] = *tmpl++;
        }
    }
    out[len] = '\0';
}

/* Posts [guard, bad] and checks the 400 (and the index for point-level
 * cases). Returns 0 or 1 (a failure, printed). */
static int check_bad_point(const bad_case *c)
{
    char t[E2E_TIME_MAX], point[1024], body[2048];
    const char *problem;
    e2e_resp r;

    tbase(0, t);
    subst_time(c->point, t, point, sizeof(point));
    snprintf(body, sizeof(body),
             "[{\"name\":\"bad_guard\",\"value\":1,\"time\":\"%s\"},%s]", t,
             point);
    request("POST", "/metrics", body, NULL, &r);
    problem = error_body_problem(&r, 400, c->point_level ? 1 : -1);
    if (problem != NULL)
        print_error("bad point (%s): %s\n  request: %s\n  response: %.300s\n",
                    c->what, problem, body, r.body);
    e2e_resp_free(&r);
    return problem != NULL;
}

static void test_rejects_every_kind_of_bad_point(void **state)
{
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_points) / sizeof(bad_points[0]); i++)
        failures += check_bad_point(&bad_points[i]);
    assert_int_equal(failures, 0);
    /* Atomic: the valid first point of every request was dropped. */
    assert_int_equal(count_points("bad_guard"), 0);
}

static void test_rejects_names_labels_past_limits(void **state)
{
    char t[E2E_TIME_MAX], big[1100];
    e2e_buf b = {0};
    e2e_resp r;

    (void)state;
    tbase(0, t);
    /* A 256-byte name. */
    memset(big, 'n', 256);
    big[256] = '\0';
    e2e_buf_printf(&b,
                   "[{\"name\":\"lim_guard\",\"value\":1},"
                   "{\"name\":\"%s\",\"value\":1,\"time\":\"%s\"}]",
                   big, t);
    request("POST", "/metrics", b.data, NULL, &r);
    expect_error(&r, 400, 1, "256-byte name");
    e2e_resp_free(&r);
    e2e_buf_free(&b);

    /* A 1025-byte label value. */
    memset(big, 'v', 1025);
    big[1025] = '\0';
    e2e_buf_printf(&b,
                   "[{\"name\":\"lim_guard\",\"value\":1},"
                   "{\"name\":\"lv\",\"value\":1,\"labels\":{\"k\":\"%s\"}}]",
                   big);
    request("POST", "/metrics", b.data, NULL, &r);
    expect_error(&r, 400, 1, "1025-byte label value");
    e2e_resp_free(&r);
    e2e_buf_free(&b);

    /* 33 labels. */
    e2e_buf_printf(&b, "[{\"name\":\"lim_guard\",\"value\":1},"
                       "{\"name\":\"ml\",\"value\":1,\"labels\":{");
    for (int i = 0; i < 33; i++)
        e2e_buf_printf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
    e2e_buf_printf(&b, "}}]");
    request("POST", "/metrics", b.data, NULL, &r);
    expect_error(&r, 400, 1, "33 labels");
    e2e_resp_free(&r);
    e2e_buf_free(&b);

    /* A 128-byte label key. */
    memset(big, 'k', 128);
    big[128] = '\0';
    e2e_buf_printf(&b,
                   "[{\"name\":\"lim_guard\",\"value\":1},"
                   "{\"name\":\"lk\",\"value\":1,\"labels\":{\"%s\":\"v\"}}]",
                   big);
    request("POST", "/metrics", b.data, NULL, &r);
    expect_error(&r, 400, 1, "128-byte label key");
    e2e_resp_free(&r);
    e2e_buf_free(&b);

    assert_int_equal(count_points("lim_guard"), 0);
}

static void test_accepts_names_labels_at_limits(void **state)
{
    char name[256], value[1025], key[128];
    e2e_buf b = {0};

    (void)state;
    memset(name, 'n', 255);
    name[0] = 'a'; /* also checks every allowed name character below */
    memcpy(name + 1, ":b.c-d_e", 8);
    name[255] = '\0';
    memset(value, 'v', 1024);
    value[1024] = '\0';
    memset(key, 'k', 127);
    key[127] = '\0';
    e2e_buf_printf(&b, "{\"name\":\"%s\",\"value\":1,\"labels\":{", name);
    for (int i = 0; i < 31; i++)
        e2e_buf_printf(&b, "\"k%d\":\"v\",", i);
    e2e_buf_printf(&b, "\"%s\":\"%s\"}}", key, value);
    post_expect(b.data, 204);
    e2e_buf_free(&b);
    assert_int_equal(count_points(name), 1);
}

static void test_time_window_enforced(void **state)
{
    int64_t now = e2e_wall_ns();
    char t[E2E_TIME_MAX], body[256];
    e2e_resp r;

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"win_pt\",\"value\":1,"
             "\"time\":\"%s\"}",
             e2e_fmt_time(now - 7200 * 1000000000LL, t));
    request("POST", "/metrics", body, NULL, &r);
    expect_error(&r, 400, -1, "time 2h old (retention 1h)");
    e2e_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"name\":\"win_pt\",\"value\":1,"
             "\"time\":\"%s\"}",
             e2e_fmt_time(now + 660 * 1000000000LL, t));
    request("POST", "/metrics", body, NULL, &r);
    expect_error(&r, 400, -1, "time 11 min ahead");
    e2e_resp_free(&r);
    assert_int_equal(count_points("win_pt"), 0);

    snprintf(body, sizeof(body),
             "{\"name\":\"win_pt\",\"value\":1,"
             "\"time\":\"%s\"}",
             e2e_fmt_time(now + 540 * 1000000000LL, t));
    post_expect(body, 204);
    snprintf(body, sizeof(body),
             "{\"name\":\"win_pt\",\"value\":1,"
             "\"time\":\"%s\"}",
             e2e_fmt_time(now - 3000 * 1000000000LL, t));
    post_expect(body, 204);
    assert_int_equal(count_points("win_pt"), 2);
}

static void test_rejects_malformed_bodies(void **state)
{
    static char nested[256];
    static const char *const bodies[] = {
        "",
        " ",
        "{",
        "{\"name\":\"mb\",\"value\":1",
        "[{\"name\":\"mb\",\"value\":1},",
        "nul",
        "42",
        "\"str\"",
        "null",
        "true",
        "{\"name\":\"mb\",\"value\":1} x",
        "{\"name\":\"mb\",\"value\":1}{\"name\":\"mb\",\"value\":2}",
        "[{\"name\":\"mb\",\"value\":1}]]",
        "\xef\xbb\xbf{\"name\":\"mb\",\"value\":1", /* BOM + truncated */
        nested,
    };
    int failures = 0;
    const char *problem;
    e2e_resp r;

    (void)state;
    for (int i = 0; i < 100; i++) {
        nested[i] = '[';
        nested[100 + i] = ']';
    }
    nested[200] = '\0';
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        request("POST", "/metrics", bodies[i], NULL, &r);
        problem = error_body_problem(&r, 400, -1);
        if (problem != NULL) {
            print_error("POST body %.60s...: %s; response %.200s\n", bodies[i],
                        problem, r.body);
            failures++;
        }
        e2e_resp_free(&r);
    }
    assert_int_equal(failures, 0);
    assert_int_equal(count_points("mb"), 0);
}

static void test_rejects_body_with_raw_nul_byte(void **state)
{
    static const char body[] = "{\"name\":\"nulb\",\"value\":1}\0xx";
    char url[256];
    e2e_req req = {.method = "POST",
                   .url = e2e_url(url, sizeof(url), g_port, "/metrics"),
                   .body = body,
                   .body_len = sizeof(body) - 1};
    e2e_resp r;

    (void)state;
    assert_int_equal(e2e_http(&req, &r), 0);
    expect_error(&r, 400, -1, "body with a NUL byte after the object");
    e2e_resp_free(&r);
    assert_int_equal(count_points("nulb"), 0);
}

/* ------------------------------------------------- routing and methods */

static void test_unknown_path_is_404_json(void **state)
{
    static const struct {
        const char *method, *path;
    } cases[] = {{"GET", "/nope"},        {"POST", "/nope"},
                 {"GET", "/api/v1/nope"}, {"GET", "/metricsx"},
                 {"GET", "/assets/nope"}, {"GET", "/index.html"}};
    const char *problem;
    int failures = 0;
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        request(cases[i].method, cases[i].path,
                strcmp(cases[i].method, "POST") == 0 ? "{}" : NULL, NULL, &r);
        problem = error_body_problem(&r, 404, -1);
        if (problem != NULL) {
            print_error("%s %s: %s; body %.200s\n", cases[i].method,
                        cases[i].path, problem, r.body);
            failures++;
        }
        e2e_resp_free(&r);
    }
    assert_int_equal(failures, 0);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    static const struct {
        const char *method, *path, *must_allow;
    } cases[] = {
        {"DELETE", "/metrics", "POST"},      {"PUT", "/metrics", "GET"},
        {"PATCH", "/metrics", "GET"},        {"POST", "/api/v1/series", "GET"},
        {"DELETE", "/api/v1/series", "GET"}, {"POST", "/healthz", "GET"},
        {"PUT", "/healthz", "GET"}};
    char allow[256];
    const char *problem;
    int failures = 0;
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        request(cases[i].method, cases[i].path, NULL, NULL, &r);
        problem = error_body_problem(&r, 405, -1);
        if (problem == NULL &&
            (!e2e_resp_header(&r, "Allow", allow, sizeof(allow)) ||
             strstr(allow, cases[i].must_allow) == NULL))
            problem = "Allow header missing or incomplete";
        if (problem != NULL) {
            print_error("%s %s: %s; headers:\n%s\n", cases[i].method,
                        cases[i].path, problem, r.headers);
            failures++;
        }
        e2e_resp_free(&r);
    }
    assert_int_equal(failures, 0);
}

static void test_head_returns_headers_only(void **state)
{
    static const char *const paths[] = {"/metrics", "/healthz",
                                        "/api/v1/series"};
    char ctype[128];
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        request("HEAD", paths[i], NULL, NULL, &r);
        if (r.status != 200)
            fail_msg("HEAD %s: got %ld", paths[i], r.status);
        assert_int_equal(r.body_len, 0);
        assert_true(e2e_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
        assert_true(strncasecmp(ctype, "application/json", 16) == 0);
        e2e_resp_free(&r);
    }
}

/* Inflates a gzip stream; returns a malloc'd NUL-terminated buffer. */
static char *gunzip(const char *data, size_t len, size_t *out_len)
{
    size_t cap = len * 8 + 1024;
    char *out = malloc(cap);
    z_stream zs;
    int rc;

    memset(&zs, 0, sizeof(zs));
    if (out == NULL || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    do {
        if (zs.total_out + 1 >= cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        zs.next_out = (Bytef *)out + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out - 1);
        rc = inflate(&zs, Z_NO_FLUSH);
    } while (rc == Z_OK);
    *out_len = zs.total_out;
    out[zs.total_out] = '\0';
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void test_gzip_for_large_bodies_only(void **state)
{
    static const char *const gz_hdr[] = {"Accept-Encoding: gzip", NULL};
    char t[E2E_TIME_MAX], url[256], enc[64];
    e2e_req req = {.url =
                       e2e_url(url, sizeof(url), g_port, "/metrics?name=gz_pt"),
                   .headers = gz_hdr};
    e2e_buf b = {0};
    e2e_resp plain, raw, dec;
    char *inflated;
    size_t inflated_len;

    (void)state;
    e2e_buf_printf(&b, "[");
    for (int i = 0; i < 60; i++)
        e2e_buf_printf(&b,
                       "%s{\"name\":\"gz_pt\",\"value\":%d,"
                       "\"time\":\"%s\",\"labels\":{\"k\":\"v\"}}",
                       i ? "," : "", i, tbase(i, t));
    e2e_buf_printf(&b, "]");
    post_expect(b.data, 204);
    e2e_buf_free(&b);

    request("GET", "/metrics?name=gz_pt", NULL, NULL, &plain);
    assert_int_equal(plain.status, 200);
    assert_true(plain.body_len >= 1024);
    assert_false(
        e2e_resp_header(&plain, "Content-Encoding", enc, sizeof(enc)) &&
        strcasecmp(enc, "gzip") == 0);

    /* Raw: the header says gzip and the bytes are a gzip stream. */
    assert_int_equal(e2e_http(&req, &raw), 0);
    assert_int_equal(raw.status, 200);
    assert_true(e2e_resp_header(&raw, "Content-Encoding", enc, sizeof(enc)));
    assert_string_equal(enc, "gzip");
    assert_true(raw.body_len >= 2 && (unsigned char)raw.body[0] == 0x1f &&
                (unsigned char)raw.body[1] == 0x8b);
    inflated = gunzip(raw.body, raw.body_len, &inflated_len);
    assert_non_null(inflated);
    assert_int_equal(inflated_len, plain.body_len);
    assert_memory_equal(inflated, plain.body, plain.body_len);
    free(inflated);

    /* libcurl decoding it transparently. */
    req.headers = NULL;
    req.decode_gzip = true;
    assert_int_equal(e2e_http(&req, &dec), 0);
    assert_int_equal(dec.body_len, plain.body_len);
    assert_memory_equal(dec.body, plain.body, plain.body_len);

    e2e_resp_free(&plain);
    e2e_resp_free(&raw);
    e2e_resp_free(&dec);
}

static void test_gzip_skips_small_bodies(void **state)
{
    static const char *const gz_hdr[] = {"Accept-Encoding: gzip", NULL};
    static const char *const paths[] = {"/healthz", "/metrics?name=gz_none",
                                        "/api/v1/series?name=gz_none"};
    char enc[64];
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        request("GET", paths[i], NULL, gz_hdr, &r);
        assert_int_equal(r.status, 200);
        if (e2e_resp_header(&r, "Content-Encoding", enc, sizeof(enc)) &&
            strcasecmp(enc, "gzip") == 0)
            fail_msg("GET %s (%zu bytes) was gzipped", paths[i], r.body_len);
        e2e_resp_free(&r);
    }
}

static void test_keepalive_reuses_one_connection(void **state)
{
    static const struct {
        const char *method, *path, *body;
        long status;
    } steps[] = {
        {"GET", "/healthz", NULL, 200},
        {"GET", "/metrics?name=ka_pt", NULL, 200},
        {"POST", "/metrics", "{\"name\":\"ka_pt\",\"value\":1}", 204},
        {"POST", "/metrics", "{\"name\":\"ka_pt\"}", 400},
        {"GET", "/nope", NULL, 404},
        {"DELETE", "/metrics", NULL, 405},
        {"GET", "/metrics?bogus=1", NULL, 400},
        {"HEAD", "/metrics", NULL, 200},
        {"GET", "/api/v1/series?name=ka_pt", NULL, 200},
        {"GET", "/healthz", NULL, 200},
    };
    CURL *h = curl_easy_init();
    char url[256];
    e2e_resp r;

    (void)state;
    assert_non_null(h);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        e2e_req req = {.method = steps[i].method,
                       .url = e2e_url(url, sizeof(url), g_port, steps[i].path),
                       .body = steps[i].body,
                       .body_len = steps[i].body ? strlen(steps[i].body) : 0,
                       .handle = h};

        assert_int_equal(e2e_http(&req, &r), 0);
        if (r.status != steps[i].status)
            fail_msg("step %zu %s %s: want %ld got %ld", i, steps[i].method,
                     steps[i].path, steps[i].status, r.status);
        if (r.new_conns != (i == 0 ? 1 : 0))
            fail_msg("step %zu %s %s opened %ld new connections", i,
                     steps[i].method, steps[i].path, r.new_conns);
        e2e_resp_free(&r);
    }
    curl_easy_cleanup(h);
}

static void test_no_cors_headers_without_config(void **state)
{
    static const char *const hdrs[] = {"Origin: https://dash.example", NULL};
    char v[256];
    e2e_resp r;

    (void)state;
    request("GET", "/metrics?name=x", NULL, hdrs, &r);
    assert_int_equal(r.status, 200);
    assert_false(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    e2e_resp_free(&r);
}

/* ------------------------------------------------------- limits group */

static void test_body_over_max_body_is_413(void **state)
{
    size_t sizes[] = {4097, 5000, 200000};
    e2e_buf b = {0};
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        /* A valid batch padded with spaces to exactly sizes[i] bytes. */
        e2e_buf_printf(&b, "[{\"name\":\"big_pt\",\"value\":1}");
        while (b.len < sizes[i] - 1)
            e2e_buf_printf(&b, " ");
        e2e_buf_printf(&b, "]");
        assert_int_equal(b.len, sizes[i]);
        request("POST", "/metrics", b.data, NULL, &r);
        if (error_body_problem(&r, 413, -1) != NULL)
            fail_msg("POST of %zu bytes (max 4096): %s; body %.200s", sizes[i],
                     error_body_problem(&r, 413, -1), r.body);
        e2e_resp_free(&r);
        e2e_buf_free(&b);
    }
    assert_int_equal(count_points("big_pt"), 0);

    /* The same without a Content-Length (chunked upload). */
    {
        static const char *const chunked[] = {"Transfer-Encoding: chunked",
                                              NULL};

        e2e_buf_printf(&b, "[{\"name\":\"big_pt\",\"value\":1}");
        while (b.len < 9999)
            e2e_buf_printf(&b, " ");
        e2e_buf_printf(&b, "]");
        request("POST", "/metrics", b.data, chunked, &r);
        expect_error(&r, 413, -1, "chunked POST of 10000 bytes (max 4096)");
        e2e_resp_free(&r);
        e2e_buf_free(&b);
    }
    assert_int_equal(count_points("big_pt"), 0);

    /* Exactly at the cap is fine. */
    e2e_buf_printf(&b, "[{\"name\":\"big_pt\",\"value\":1}");
    while (b.len < 4095)
        e2e_buf_printf(&b, " ");
    e2e_buf_printf(&b, "]");
    post_expect(b.data, 204);
    e2e_buf_free(&b);
    assert_int_equal(count_points("big_pt"), 1);
}

static void test_retention_flag_limits_old_points(void **state)
{
    int64_t now = e2e_wall_ns();
    char t[E2E_TIME_MAX], body[256];
    e2e_resp r;

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"ret_pt\",\"value\":1,"
             "\"time\":\"%s\"}",
             e2e_fmt_time(now - 300000000000LL, t));
    request("POST", "/metrics", body, NULL, &r);
    expect_error(&r, 400, -1, "point 5 min old with --retention 2m");
    e2e_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"name\":\"ret_pt\",\"value\":1,"
             "\"time\":\"%s\"}",
             e2e_fmt_time(now - 60000000000LL, t));
    post_expect(body, 204);
    assert_int_equal(count_points("ret_pt"), 1);
}

static void test_max_points_keeps_newest(void **state)
{
    int64_t now = e2e_wall_ns();
    char t[E2E_TIME_MAX];
    e2e_buf b = {0};
    json_t *arr;

    (void)state;
    e2e_buf_printf(&b, "[");
    for (int i = 0; i < 10; i++)
        e2e_buf_printf(&b,
                       "%s{\"name\":\"mp_pt\",\"value\":%d,"
                       "\"time\":\"%s\"}",
                       i ? "," : "", i,
                       e2e_fmt_time(now - (10 - i) * 1000000000LL, t));
    e2e_buf_printf(&b, "]");
    post_expect(b.data, 204);
    e2e_buf_free(&b);
    arr = get_array("/metrics?name=mp_pt");
    assert_int_equal(json_array_size(arr), 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(value_of(json_array_get(arr, i)) == 5.0 + (double)i);
    json_decref(arr);
}

/* ------------------------------------------------------- series group */

static void test_series_limit_refuses_new_series_only(void **state)
{
    char body[256], first[64] = "";
    json_t *arr;
    e2e_resp r;
    int accepted = 0, refused = -1;

    (void)state;
    for (int i = 0; i < 20 && refused < 0; i++) {
        snprintf(body, sizeof(body), "{\"name\":\"sl_%d\",\"value\":1}", i);
        request("POST", "/metrics", body, NULL, &r);
        if (r.status == 204) {
            if (accepted++ == 0)
                snprintf(first, sizeof(first), "sl_%d", i);
        } else {
            expect_error(&r, 400, 0, "series past --max-series 16");
            refused = i;
        }
        e2e_resp_free(&r);
    }
    if (refused < 0)
        fail_msg("20 new series accepted with --max-series 16");
    if (accepted == 0)
        fail_msg("no series could be created: the server's own series "
                 "filled --max-series 16");

    /* The store is full now, so the count is exact whenever the
     * collectors' one tick at start ran (its store series, 9 of them,
     * count against the limit too, and are refused once it is full). */
    arr = get_array("/api/v1/series");
    assert_int_equal(json_array_size(arr), 16);
    json_decref(arr);

    /* Existing series keep accepting writes... */
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"value\":2}", first);
    post_expect(body, 204);
    assert_int_equal(count_points(first), 2);

    /* ...but not in a batch that also creates a series (atomic). */
    snprintf(body, sizeof(body),
             "[{\"name\":\"%s\",\"value\":3},{\"name\":\"sl_new\","
             "\"value\":1}]",
             first);
    request("POST", "/metrics", body, NULL, &r);
    expect_error(&r, 400, 1, "batch creating a series past the limit");
    e2e_resp_free(&r);
    assert_int_equal(count_points(first), 2);
    assert_int_equal(count_points("sl_new"), 0);
}

/* --------------------------------------------------------- cors group */

static void test_cors_allowed_origins_get_header(void **state)
{
    static const char *const dash[] = {"Origin: https://dash.example", NULL};
    static const char *const other[] = {"Origin: https://other.example", NULL};
    static const char *const evil[] = {"Origin: https://evil.example", NULL};
    char v[256];
    e2e_resp r;

    (void)state;
    request("GET", "/metrics?name=x", NULL, dash, &r);
    assert_int_equal(r.status, 200);
    assert_true(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://dash.example");
    e2e_resp_free(&r);

    request("POST", "/metrics", "{\"name\":\"cors_pt\",\"value\":1}", other,
            &r);
    assert_int_equal(r.status, 204);
    assert_true(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://other.example");
    e2e_resp_free(&r);

    request("POST", "/metrics", "{\"name\":\"cors_pt\"}", dash, &r);
    assert_int_equal(r.status, 400);
    assert_true(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    e2e_resp_free(&r);

    request("GET", "/metrics?name=x", NULL, evil, &r);
    assert_int_equal(r.status, 200);
    assert_false(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    e2e_resp_free(&r);

    request("GET", "/metrics?name=x", NULL, NULL, &r);
    assert_false(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    e2e_resp_free(&r);
}

static void test_cors_preflight(void **state)
{
    static const char *const ok[] = {"Origin: https://dash.example",
                                     "Access-Control-Request-Method: POST",
                                     "Access-Control-Request-Headers: "
                                     "content-type",
                                     NULL};
    static const char *const evil[] = {"Origin: https://evil.example",
                                       "Access-Control-Request-Method: POST",
                                       NULL};
    char v[256];
    e2e_resp r;

    (void)state;
    request("OPTIONS", "/metrics", NULL, ok, &r);
    assert_int_equal(r.status, 204);
    assert_true(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://dash.example");
    assert_true(
        e2e_resp_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    assert_non_null(strstr(v, "POST"));
    e2e_resp_free(&r);

    request("OPTIONS", "/metrics", NULL, evil, &r);
    assert_false(
        e2e_resp_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    e2e_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest api[] = {
        cmocka_unit_test(test_healthz_reports_ok),
        cmocka_unit_test(test_get_metrics_is_json_array_oldest_first),
        cmocka_unit_test(test_post_single_point_round_trips),
        cmocka_unit_test(test_labels_omitted_when_empty),
        cmocka_unit_test(test_post_array_stores_every_point),
        cmocka_unit_test(test_post_empty_array_is_accepted),
        cmocka_unit_test(test_post_without_time_uses_now),
        cmocka_unit_test(test_post_unix_seconds_time),
        cmocka_unit_test(test_post_accepts_any_content_type),
        cmocka_unit_test(test_post_chunked_body_is_accepted),
        cmocka_unit_test(test_nonfinite_values_round_trip),
        cmocka_unit_test(test_finite_values_round_trip_exactly),
        cmocka_unit_test(test_label_values_round_trip_escapes_and_utf8),
        cmocka_unit_test(test_same_series_same_time_replaces_value),
        cmocka_unit_test(test_get_orders_oldest_first_across_series),
        cmocka_unit_test(test_get_filters_by_repeated_name),
        cmocka_unit_test(test_get_since_until_rfc3339_inclusive),
        cmocka_unit_test(test_get_since_until_unix_seconds),
        cmocka_unit_test(test_get_since_until_relative_and_now),
        cmocka_unit_test(test_get_limit_keeps_newest_overall),
        cmocka_unit_test(test_get_latest_keeps_newest_per_series),
        cmocka_unit_test(test_series_endpoint_lists_counts_and_range),
        cmocka_unit_test(test_get_rejects_unknown_and_bad_params),
        cmocka_unit_test(test_get_accepts_valid_param_forms),
        cmocka_unit_test(test_batch_is_atomic),
        cmocka_unit_test(test_rejects_every_kind_of_bad_point),
        cmocka_unit_test(test_rejects_names_labels_past_limits),
        cmocka_unit_test(test_accepts_names_labels_at_limits),
        cmocka_unit_test(test_time_window_enforced),
        cmocka_unit_test(test_rejects_malformed_bodies),
        cmocka_unit_test(test_rejects_body_with_raw_nul_byte),
        cmocka_unit_test(test_unknown_path_is_404_json),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_head_returns_headers_only),
        cmocka_unit_test(test_gzip_for_large_bodies_only),
        cmocka_unit_test(test_gzip_skips_small_bodies),
        cmocka_unit_test(test_keepalive_reuses_one_connection),
        cmocka_unit_test(test_no_cors_headers_without_config),
    };
    const struct CMUnitTest limits[] = {
        cmocka_unit_test(test_body_over_max_body_is_413),
        cmocka_unit_test(test_retention_flag_limits_old_points),
        cmocka_unit_test(test_max_points_keeps_newest),
    };
    const struct CMUnitTest series[] = {
        cmocka_unit_test(test_series_limit_refuses_new_series_only),
    };
    const struct CMUnitTest cors[] = {
        cmocka_unit_test(test_cors_allowed_origins_get_header),
        cmocka_unit_test(test_cors_preflight),
    };
    int failed = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed +=
        cmocka_run_group_tests_name("api", api, setup_api, teardown_server);
    failed += cmocka_run_group_tests_name("limits", limits, setup_limits,
                                          teardown_server);
    failed += cmocka_run_group_tests_name("series", series, setup_series,
                                          teardown_server);
    failed +=
        cmocka_run_group_tests_name("cors", cors, setup_cors, teardown_server);
    e2e_proc_free_all(NULL);
    curl_global_cleanup();
    return failed != 0 || g_group_failed;
}
