/*
 * test_store_policy.c - the compressed store's policies over HTTP: the
 * out-of-order window (a 400 naming the refused point, nothing stored),
 * duplicates replacing values, and --max-memory evicting the oldest data
 * with the store's self-metrics counting it.
 *
 * Each test starts its own server (--max-points 100, so a series' chunks
 * hold 25 samples) on a free loopback port and stops it at the end.
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
#include <sys/wait.h>

#define SEC INT64_C(1000000000)

static e2e_proc *start(const char *const *extra)
{
    e2e_proc *p = e2e_server_start(extra);

    assert_non_null(p);
    return p;
}

static void stop(e2e_proc *p)
{
    int status = 0;

    assert_int_equal(
        e2e_proc_stop(p, SIGTERM, 5000 * e2e_slowdown(), &status, NULL), 0);
    e2e_proc_free_all(NULL);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* POSTs body to /metrics; returns the status, the body in *r. */
static long post(uint16_t port, const char *body, e2e_resp *r)
{
    char url[128];

    assert_int_equal(
        e2e_post(e2e_url(url, sizeof url, port, "/metrics"), body, r), 0);
    return r->status;
}

/* A JSON array of n points of name, one a second from base_s + first,
 * valued by value0 + i * step. */
static void points_json(e2e_buf *b, const char *name, int64_t base_ns,
                        int first, int n, double step)
{
    char t[E2E_TIME_MAX];

    e2e_buf_printf(b, "[");
    for (int i = 0; i < n; i++)
        e2e_buf_printf(b, "%s{\"name\":\"%s\",\"value\":%.17g,\"time\":\"%s\"}",
                       i ? "," : "", name, (first + i) * step,
                       e2e_fmt_time(base_ns + (int64_t)(first + i) * SEC, t));
    e2e_buf_printf(b, "]");
}

/* GET /metrics?name=... as a JSON array; json_decref it. */
static json_t *get_points(uint16_t port, const char *query)
{
    char url[512];
    e2e_resp r;
    json_t *j;

    assert_int_equal(e2e_get(e2e_url(url, sizeof url, port, query), &r), 0);
    assert_int_equal(r.status, 200);
    j = e2e_resp_json(&r);
    assert_non_null(j);
    e2e_resp_free(&r);
    return j;
}

/* The value of a self-metric series, polled until it passes min (the
 * collector writes them once a tick). -1 when it never does. */
static double poll_metric(uint16_t port, const char *name, const char *reason,
                          double min)
{
    char q[256];
    int64_t deadline = e2e_now_ms() + 10000 * e2e_slowdown();

    snprintf(q, sizeof q, "/metrics?name=%s&latest=true", name);
    while (e2e_now_ms() < deadline) {
        json_t *arr = get_points(port, q), *pt;
        size_t i;

        json_array_foreach(arr, i, pt)
        {
            json_t *labels = json_object_get(pt, "labels");
            const char *rs =
                json_string_value(json_object_get(labels, "reason"));
            double v = json_number_value(json_object_get(pt, "value"));

            if ((reason == NULL || (rs && strcmp(rs, reason) == 0)) &&
                v >= min) {
                json_decref(arr);
                return v;
            }
        }
        json_decref(arr);
        e2e_sleep_ms(50);
    }
    return -1;
}

static void test_post_out_of_order_is_refused_with_index(void **state)
{
    static const char *const args[] = {
        "--no-process", "--no-system", "--max-points", "100", "--interval",
        "50ms",         NULL};
    e2e_proc *srv = start(args);
    uint16_t port = e2e_proc_port(srv);
    int64_t base = (e2e_wall_ns() / SEC - 1800) * SEC;
    e2e_buf b = {0};
    char t1[E2E_TIME_MAX], t2[E2E_TIME_MAX], t3[E2E_TIME_MAX];
    e2e_resp r;
    json_t *arr, *err;

    (void)state;
    /* 60 points: chunks [0, 24] and [25, 49] sealed, [50, 59] open. */
    points_json(&b, "ooo", base, 0, 60, 1);
    assert_int_equal(post(port, b.data, &r), 204);
    e2e_resp_free(&r);

    /* A batch whose third point is older than the open chunk. */
    b.len = 0;
    e2e_buf_printf(&b,
                   "[{\"name\":\"ooo_new\",\"value\":1,\"time\":\"%s\"},"
                   "{\"name\":\"ooo\",\"value\":5.5,\"time\":\"%s\"},"
                   "{\"name\":\"ooo\",\"value\":-1,\"time\":\"%s\"}]",
                   e2e_fmt_time(base, t1),
                   e2e_fmt_time(base + 55 * SEC + SEC / 2, t2),
                   e2e_fmt_time(base + 10 * SEC, t3));
    assert_int_equal(post(port, b.data, &r), 400);
    err = e2e_resp_json(&r);
    assert_non_null(err);
    assert_non_null(strstr(json_string_value(json_object_get(err, "error")),
                           "out-of-order window"));
    assert_true(json_number_value(json_object_get(err, "index")) == 2);
    json_decref(err);
    e2e_resp_free(&r);

    /* Nothing of the batch is stored. */
    arr = get_points(port, "/metrics?name=ooo_new");
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    arr = get_points(port, "/metrics?name=ooo");
    assert_int_equal(json_array_size(arr), 60);
    json_decref(arr);

    /* The late point inside the open chunk alone is accepted, and a
     * duplicate replaces the newest value. */
    b.len = 0;
    e2e_buf_printf(&b,
                   "[{\"name\":\"ooo\",\"value\":5.5,\"time\":\"%s\"},"
                   "{\"name\":\"ooo\",\"value\":590,\"time\":\"%s\"}]",
                   t2, e2e_fmt_time(base + 59 * SEC, t3));
    assert_int_equal(post(port, b.data, &r), 204);
    e2e_resp_free(&r);
    arr = get_points(port, "/metrics?name=ooo&since=-1h&latest=true");
    assert_int_equal(json_array_size(arr), 1);
    assert_true(json_number_value(
                    json_object_get(json_array_get(arr, 0), "value")) == 590);
    json_decref(arr);
    arr = get_points(port, "/metrics?name=ooo");
    assert_int_equal(json_array_size(arr), 61);
    json_decref(arr);

    /* The refusal is counted. */
    assert_true(poll_metric(port, "scoreboard_store_rejected_samples_total",
                            "out_of_order", 1) == 1);
    e2e_buf_free(&b);
    stop(srv);
}

static void test_max_memory_evicts_and_counts(void **state)
{
    static const char *const args[] = {
        "--no-process", "--no-system", "--max-memory", "64KiB", "--interval",
        "50ms",         NULL};
    e2e_proc *srv = start(args);
    uint16_t port = e2e_proc_port(srv);
    int64_t base = (e2e_wall_ns() / SEC - 1800) * SEC;
    e2e_buf b = {0};
    double bytes, per;
    e2e_resp r;
    json_t *arr;

    (void)state;
    /* 20 series of 1,000 irregular doubles: far more than 64 KiB. */
    for (int s = 0; s < 20; s++) {
        char name[32];

        snprintf(name, sizeof name, "mem_%02d", s);
        b.len = 0;
        points_json(&b, name, base, 0, 1000, 1.0 / 3.0);
        assert_int_equal(post(port, b.data, &r), 204);
        e2e_resp_free(&r);
    }
    assert_true(poll_metric(port, "scoreboard_store_dropped_points_total",
                            "memory", 1) >= 1);
    bytes = poll_metric(port, "scoreboard_store_sample_bytes", NULL, 0);
    /* A tick may fall between a write and its eviction: allow one
     * batch's worth (about 9 KB here) above the cap. */
    assert_true(bytes > 0 && bytes <= 80 * 1024);
    per = poll_metric(port, "scoreboard_store_bytes_per_sample", NULL, 0);
    assert_true(per > 0);
    /* The newest data of the last series written is all there. */
    arr = get_points(port, "/metrics?name=mem_19");
    assert_true(json_array_size(arr) > 0);
    json_decref(arr);
    arr = get_points(port, "/metrics?name=mem_19&latest=true");
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    e2e_buf_free(&b);
    stop(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_out_of_order_is_refused_with_index),
        cmocka_unit_test(test_max_memory_evicts_and_counts),
    };

    return cmocka_run_group_tests(tests, NULL, e2e_proc_free_all);
}
