/*
 * test_dashboard.c - the dashboard's HTTP side, end to end: GET / and
 * /assets/NAME serve the files compiled into the binary (types, ETag
 * revalidation, gzip, HEAD, 404 for unknown names, one route label for
 * every asset path), and GET /api/v1/status describes the server. The
 * page itself is tested in a browser by tests/browser/.
 *
 * One server for the whole file: --retention 2h --interval 250ms, so the
 * status document has values the defaults would not give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/support/http.h"
#include "e2e/support/proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static e2e_proc *g_srv;
static uint16_t g_port;
static bool g_group_failed;

static void get(const char *pq, const char *const *headers, bool gzip,
                e2e_resp *r)
{
    char url[1024];
    e2e_req req = {.url = e2e_url(url, sizeof url, g_port, pq),
                   .headers = headers,
                   .decode_gzip = gzip};

    if (e2e_http(&req, r) != 0)
        fail_msg("GET %s: transport error: %s", pq,
                 curl_easy_strerror(r->curl_rc));
}

static void send_method(const char *method, const char *pq, e2e_resp *r)
{
    char url[1024];
    e2e_req req = {.method = method,
                   .url = e2e_url(url, sizeof url, g_port, pq)};

    if (e2e_http(&req, r) != 0)
        fail_msg("%s %s: transport error", method, pq);
}

static void header(const e2e_resp *r, const char *name, char *out, size_t n)
{
    if (!e2e_resp_header(r, name, out, n))
        fail_msg("no %s header in:\n%s", name, r->headers);
}

static void test_page_is_html_with_csp(void **state)
{
    char v[512];
    e2e_resp r;

    (void)state;
    get("/", NULL, false, &r);
    assert_int_equal(r.status, 200);
    header(&r, "Content-Type", v, sizeof v);
    assert_string_equal(v, "text/html; charset=utf-8");
    header(&r, "Content-Security-Policy", v, sizeof v);
    assert_non_null(strstr(v, "default-src 'self'"));
    header(&r, "Cache-Control", v, sizeof v);
    assert_string_equal(v, "no-cache");
    assert_non_null(strstr(r.body, "<!doctype html>"));
    /* Every asset the page names is served. */
    assert_non_null(strstr(r.body, "/assets/app.js"));
    assert_non_null(strstr(r.body, "/assets/uPlot.min.js"));
    /* The page loads nothing from elsewhere. */
    assert_null(strstr(r.body, "http://"));
    assert_null(strstr(r.body, "https://"));
    e2e_resp_free(&r);
}

static void test_assets_have_types_and_bodies(void **state)
{
    static const struct {
        const char *path, *type, *needle;
    } cases[] = {
        {"/assets/app.js", "text/javascript; charset=utf-8", "/api/v1/query"},
        {"/assets/style.css", "text/css; charset=utf-8",
         "prefers-color-scheme"},
        {"/assets/uPlot.min.js", "text/javascript; charset=utf-8", "uPlot"},
        {"/assets/uPlot.min.css", "text/css; charset=utf-8", ".uplot"},
    };
    char v[256];
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        get(cases[i].path, NULL, false, &r);
        assert_int_equal(r.status, 200);
        header(&r, "Content-Type", v, sizeof v);
        assert_string_equal(v, cases[i].type);
        header(&r, "Content-Length", v, sizeof v);
        assert_int_equal(strtoul(v, NULL, 10), r.body_len);
        if (strstr(r.body, cases[i].needle) == NULL)
            fail_msg("%s lacks %s", cases[i].path, cases[i].needle);
        assert_false(
            e2e_resp_header(&r, "Content-Security-Policy", v, sizeof v));
        e2e_resp_free(&r);
    }
}

static void test_etag_revalidation_is_304(void **state)
{
    char etag[64], h1[128], h2[160], h3[128];
    const char *with_tag[] = {h1, NULL};
    const char *in_list[] = {h2, NULL};
    const char *star[] = {"If-None-Match: *", NULL};
    const char *other[] = {h3, NULL};
    e2e_resp r;

    (void)state;
    get("/assets/app.js", NULL, false, &r);
    header(&r, "ETag", etag, sizeof etag);
    assert_true(strlen(etag) > 2 && etag[0] == '"');
    e2e_resp_free(&r);

    snprintf(h1, sizeof h1, "If-None-Match: %s", etag);
    snprintf(h2, sizeof h2, "If-None-Match: \"nope\", W/%s", etag);
    snprintf(h3, sizeof h3, "If-None-Match: \"x%s", etag + 1);
    for (int i = 0; i < 3; i++) {
        get("/assets/app.js",
            i == 0   ? with_tag
            : i == 1 ? in_list
                     : star,
            false, &r);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.body_len, 0);
        e2e_resp_free(&r);
    }
    get("/assets/app.js", other, false, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.body_len > 0);
    e2e_resp_free(&r);
}

static void test_gzip_round_trips(void **state)
{
    const char *gz[] = {"Accept-Encoding: gzip", NULL};
    char v[64];
    e2e_resp plain, packed, raw;

    (void)state;
    get("/assets/uPlot.min.js", NULL, false, &plain);
    get("/assets/uPlot.min.js", NULL, true, &packed);
    get("/assets/uPlot.min.js", gz, false, &raw);
    assert_int_equal(raw.status, 200);
    header(&raw, "Content-Encoding", v, sizeof v);
    assert_string_equal(v, "gzip");
    header(&raw, "Vary", v, sizeof v);
    assert_non_null(strstr(v, "Accept-Encoding"));
    assert_true(raw.body_len < plain.body_len / 2);
    /* curl decoded it: the same bytes as the uncompressed answer. */
    assert_int_equal(packed.body_len, plain.body_len);
    assert_memory_equal(packed.body, plain.body, plain.body_len);
    e2e_resp_free(&plain);
    e2e_resp_free(&packed);
    e2e_resp_free(&raw);
}

static void test_unknown_assets_and_methods(void **state)
{
    static const char *const missing[] = {
        "/assets/",        "/assets/nope.js",
        "/assets/app.js/", "/assets/../app.js",
        "/assets/APP.JS",  "/assets/app.js%00",
        "/index.html",     "//",
    };
    char v[128];
    e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        get(missing[i], NULL, false, &r);
        if (r.status != 404 || strstr(r.body, "\"error\"") == NULL)
            fail_msg("%s: %ld %s", missing[i], r.status, r.body);
        e2e_resp_free(&r);
    }
    send_method("POST", "/", &r);
    assert_int_equal(r.status, 405);
    header(&r, "Allow", v, sizeof v);
    assert_string_equal(v, "GET, HEAD, OPTIONS");
    e2e_resp_free(&r);
    send_method("DELETE", "/assets/app.js", &r);
    assert_int_equal(r.status, 405);
    e2e_resp_free(&r);
    send_method("HEAD", "/assets/app.js", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    header(&r, "ETag", v, sizeof v);
    e2e_resp_free(&r);
    /* A query string is ignored (cache busting). */
    get("/assets/style.css?v=2", NULL, false, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

static void test_status_document(void **state)
{
    e2e_resp r;
    json_t *j;
    double t, start;

    (void)state;
    get("/api/v1/status", NULL, false, &r);
    assert_int_equal(r.status, 200);
    j = e2e_resp_json(&r);
    assert_non_null(j);
    assert_true(json_is_string(json_object_get(j, "version")));
    assert_true(json_real_value(json_object_get(j, "retention_seconds")) ==
                7200.0);
    assert_true(json_real_value(json_object_get(j, "interval_seconds")) ==
                0.25);
    t = json_real_value(json_object_get(j, "time"));
    start = json_real_value(json_object_get(j, "start_time"));
    assert_true(start > 1.7e9 && start <= t);
    assert_true(t - (double)e2e_wall_ns() / 1e9 < 60);
    assert_true(json_real_value(json_object_get(j, "max_query_points")) > 0);
    json_decref(j);
    e2e_resp_free(&r);

    get("/api/v1/status?verbose=1", NULL, false, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "verbose"));
    e2e_resp_free(&r);
    get("/api/v1/status?%zz", NULL, false, &r);
    assert_int_equal(r.status, 400);
    e2e_resp_free(&r);
}

/* True when the request counter holds a series with this route and code
 * (method GET). */
static bool counted(const char *route, const char *code)
{
    e2e_resp r;
    json_t *arr;
    size_t i;
    json_t *p;
    bool found = false;

    get("/metrics?name=scoreboard_http_requests_total&latest=true", NULL, false,
        &r);
    arr = e2e_resp_json(&r);
    e2e_resp_free(&r);
    json_array_foreach(arr, i, p)
    {
        json_t *l = json_object_get(p, "labels");
        const char *rt = json_string_value(json_object_get(l, "route"));
        const char *c = json_string_value(json_object_get(l, "code"));

        if (rt && c && strcmp(rt, route) == 0 && strcmp(c, code) == 0)
            found = true;
    }
    json_decref(arr);
    return found;
}

static void test_asset_paths_share_one_route_label(void **state)
{
    char path[64];
    e2e_resp r;
    json_t *arr;
    size_t i, routes = 0;
    json_t *p;
    bool ok = false;

    (void)state;
    for (int n = 0; n < 50; n++) {
        snprintf(path, sizeof path, "/assets/hostile-%d", n);
        get(path, NULL, false, &r);
        e2e_resp_free(&r);
    }
    for (int64_t end = e2e_now_ms() + 5000L * e2e_slowdown();
         !ok && e2e_now_ms() < end;) {
        e2e_sleep_ms(50);
        ok = counted("/assets/", "404") && counted("/", "200") &&
             counted("/assets/", "304");
    }
    assert_true(ok);

    get("/metrics?name=scoreboard_http_requests_total&latest=true", NULL, false,
        &r);
    arr = e2e_resp_json(&r);
    e2e_resp_free(&r);
    json_array_foreach(arr, i, p)
    {
        const char *rt = json_string_value(
            json_object_get(json_object_get(p, "labels"), "route"));

        if (rt && strncmp(rt, "/assets/h", 9) == 0)
            fail_msg("a route label per asset path: %s", rt);
        routes++;
    }
    json_decref(arr);
    assert_true(routes > 0);
}

static int setup(void **state)
{
    const char *const extra[] = {"--retention", "2h", "--interval", "250ms",
                                 NULL};

    (void)state;
    g_srv = e2e_server_start(extra);
    if (g_srv == NULL) {
        g_group_failed = true;
        return -1;
    }
    g_port = e2e_proc_port(g_srv);
    return 0;
}

static int teardown(void **state)
{
    int status = 0;

    (void)state;
    if (g_srv != NULL && e2e_proc_stop(g_srv, SIGTERM, 10000 * e2e_slowdown(),
                                       &status, NULL) != 0) {
        g_group_failed = true;
    }
    e2e_proc_free(g_srv);
    g_srv = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_is_html_with_csp),
        cmocka_unit_test(test_assets_have_types_and_bodies),
        cmocka_unit_test(test_etag_revalidation_is_304),
        cmocka_unit_test(test_gzip_round_trips),
        cmocka_unit_test(test_unknown_assets_and_methods),
        cmocka_unit_test(test_status_document),
        cmocka_unit_test(test_asset_paths_share_one_route_label),
    };
    int failed;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed = cmocka_run_group_tests_name("dashboard", tests, setup, teardown);
    e2e_proc_free_all(NULL);
    curl_global_cleanup();
    return failed != 0 || g_group_failed;
}
