/*
 * test_reqstats.c - request counters, the interval latency histogram and
 * the series the requests collector writes from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collect/reqstats.h"
#include "scoreboard.h"
#include "unit/support/store_probe.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US  INT64_C(1000)
#define MS  INT64_C(1000000)
#define SEC INT64_C(1000000000)

/* The documented quantile error: half a 1/32-wide sub-bucket. */
#define REL_ERR (1.0 / 64)

static const char *const routes[] = {"metrics", "health", "unmatched"};
static const char *const methods[] = {"GET", "POST", "OTHER"};

typedef struct fx {
    sb_store *st;
    sb_reqstats *rs;
    sb_collector c;
    int64_t t; /* a base time inside the retention window */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    assert_int_equal(sb_store_create(NULL, &f->st), SB_OK);
    assert_int_equal(sb__reqstats_create(routes, 3, methods, 3, &f->rs), 0);
    assert_int_equal(sb__collector_requests(f->rs, &f->c), 0);
    assert_string_equal(f->c.name, "requests");
    f->t = sb_time_now() - 60 * SEC;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    f->c.destroy(f->c.state);
    sb__reqstats_destroy(f->rs);
    sb_store_destroy(f->st);
    free(f);
    return 0;
}

/* Series (of any labels) named name at time t. */
static size_t series_at(sb_store *st, const char *name, int64_t t)
{
    const char *names[1] = {name};
    sb_result *r = NULL;
    sb_query q;
    size_t n;

    sb_query_init(&q);
    q.names = names;
    q.nnames = 1;
    q.since_ns = t;
    q.until_ns = t;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    n = sb_result_point_count(r);
    sb_result_free(r);
    return n;
}

static double requests(fx *f, const char *route, const char *method,
                       const char *code, int64_t t)
{
    const char *kv[] = {"route", route, "method", method, "code", code};
    double v = -1;

    if (sb_test_value_at(f->st, "scoreboard_http_requests_total", kv, 3, t,
                         &v) != 1)
        return -1;
    return v;
}

static double route_value(fx *f, const char *name, const char *route, int64_t t)
{
    const char *kv[] = {"route", route};
    double v = -1;

    if (sb_test_value_at(f->st, name, kv, 1, t, &v) != 1)
        return -1;
    return v;
}

static double quantile(fx *f, const char *route, const char *q, int64_t t)
{
    const char *kv[] = {"route", route, "quantile", q};
    double v = -1;

    if (sb_test_value_at(f->st, "scoreboard_http_request_duration_seconds", kv,
                         2, t, &v) != 1)
        return -1;
    return v;
}

static void assert_near(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * want))
        fail_msg("got %.9g, want %.9g within %.4g%%", got, want, rel * 100);
}

static void test_reqstats_counts_requests_by_route_method_code(void **state)
{
    fx *f = *state;

    for (int i = 0; i < 3; i++)
        sb__reqstats_record(f->rs, 0, 0, 200, MS);
    sb__reqstats_record(f->rs, 0, 0, 404, MS);
    sb__reqstats_record(f->rs, 0, 0, 404, MS);
    sb__reqstats_record(f->rs, 0, 1, 413, MS);
    sb__reqstats_record(f->rs, 2, 2, 299, MS); /* not in the table */
    sb__reqstats_record(f->rs, 2, 2, 999, MS);
    assert_int_equal(f->c.collect(f->c.state, f->st, f->t), 0);

    assert_true(requests(f, "metrics", "GET", "200", f->t) == 3);
    assert_true(requests(f, "metrics", "GET", "404", f->t) == 2);
    assert_true(requests(f, "metrics", "POST", "413", f->t) == 1);
    assert_true(requests(f, "unmatched", "OTHER", "other", f->t) == 2);
    /* Only combinations seen are written. */
    assert_true(requests(f, "metrics", "GET", "500", f->t) == -1);
    assert_int_equal(series_at(f->st, "scoreboard_http_requests_total", f->t),
                     4);
    /* Routes without requests get no series at all. */
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_count",
                            "health", f->t) == -1);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_count",
                            "metrics", f->t) == 6);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_count",
                            "unmatched", f->t) == 2);
}

static void test_reqstats_counters_are_cumulative_across_ticks(void **state)
{
    fx *f = *state;
    int64_t t2 = f->t + SEC;

    sb__reqstats_record(f->rs, 1, 0, 200, 2 * MS);
    assert_int_equal(f->c.collect(f->c.state, f->st, f->t), 0);
    sb__reqstats_record(f->rs, 1, 0, 200, 3 * MS);
    sb__reqstats_record(f->rs, 1, 0, 200, 4 * MS);
    assert_int_equal(f->c.collect(f->c.state, f->st, t2), 0);

    assert_true(requests(f, "health", "GET", "200", t2) == 3);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_count",
                            "health", t2) == 3);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_sum",
                            "health", t2) == 0.009);
}

static void test_reqstats_quantiles_within_documented_error(void **state)
{
    fx *f = *state;

    /* 1 ms .. 1000 ms: nearest-rank p50 = 500 ms, p90 = 900, p99 = 990. */
    for (int i = 1000; i >= 1; i--)
        sb__reqstats_record(f->rs, 0, 0, 200, i * MS);
    assert_int_equal(f->c.collect(f->c.state, f->st, f->t), 0);

    assert_near(quantile(f, "metrics", "0.5", f->t), 0.5, REL_ERR);
    assert_near(quantile(f, "metrics", "0.9", f->t), 0.9, REL_ERR);
    assert_near(quantile(f, "metrics", "0.99", f->t), 0.99, REL_ERR);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_max",
                            "metrics", f->t) == 1.0);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_sum",
                            "metrics", f->t) == 500.5);
}

static void test_reqstats_quantiles_hold_across_the_range(void **state)
{
    static const int64_t durations[] = {
        2 * US,      3 * US + 7, 50 * US,       777 * US, 1234567,
        20 * MS + 3, 999 * MS,   5 * SEC + 123, 33 * SEC, 67 * SEC};
    fx *f = *state;

    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        int64_t t = f->t + (int64_t)i * SEC;
        double want = (double)durations[i] / 1e9;

        sb__reqstats_record(f->rs, 0, 0, 200, durations[i]);
        assert_int_equal(f->c.collect(f->c.state, f->st, t), 0);
        /* One request: every quantile is that request, clamped to the max
         * so never above it. */
        assert_near(quantile(f, "metrics", "0.5", t), want, REL_ERR);
        assert_true(quantile(f, "metrics", "0.99", t) <= want);
        assert_true(route_value(f,
                                "scoreboard_http_request_duration_seconds_max",
                                "metrics", t) == want);
    }
}

static void test_reqstats_interval_figures_reset_each_tick(void **state)
{
    fx *f = *state;
    int64_t t2 = f->t + SEC, t3 = f->t + 2 * SEC;

    sb__reqstats_record(f->rs, 0, 0, 200, 800 * MS);
    assert_int_equal(f->c.collect(f->c.state, f->st, f->t), 0);
    assert_near(quantile(f, "metrics", "0.5", f->t), 0.8, REL_ERR);

    /* No request in the second interval: no quantiles, no max; the
     * cumulative series go on. */
    assert_int_equal(f->c.collect(f->c.state, f->st, t2), 0);
    assert_int_equal(
        series_at(f->st, "scoreboard_http_request_duration_seconds", t2), 0);
    assert_int_equal(
        series_at(f->st, "scoreboard_http_request_duration_seconds_max", t2),
        0);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_count",
                            "metrics", t2) == 1);

    /* A fast request next: the slow one must not linger in p50 or max. */
    sb__reqstats_record(f->rs, 0, 0, 200, 2 * MS);
    assert_int_equal(f->c.collect(f->c.state, f->st, t3), 0);
    assert_near(quantile(f, "metrics", "0.99", t3), 0.002, REL_ERR);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_max",
                            "metrics", t3) == 0.002);
}

static void test_reqstats_slow_requests_keep_exact_max_and_sum(void **state)
{
    fx *f = *state;

    sb__reqstats_record(f->rs, 0, 0, 200, 100 * SEC);
    sb__reqstats_record(f->rs, 0, 0, 200, 500 * SEC);
    assert_int_equal(f->c.collect(f->c.state, f->st, f->t), 0);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_max",
                            "metrics", f->t) == 500.0);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_sum",
                            "metrics", f->t) == 600.0);
    /* Above the histogram's range quantiles saturate near 68.7 s. */
    assert_true(quantile(f, "metrics", "0.99", f->t) > 67.0);
    assert_true(quantile(f, "metrics", "0.99", f->t) < 69.0);
}

static void test_reqstats_ignores_bad_indexes_and_negative_time(void **state)
{
    fx *f = *state;

    sb__reqstats_record(f->rs, 3, 0, 200, MS);
    sb__reqstats_record(f->rs, 0, 3, 200, MS);
    sb__reqstats_record(NULL, 0, 0, 200, MS);
    sb__reqstats_record(f->rs, 1, 1, 204, -5 * SEC);
    assert_int_equal(f->c.collect(f->c.state, f->st, f->t), 0);
    assert_int_equal(series_at(f->st, "scoreboard_http_requests_total", f->t),
                     1);
    assert_true(requests(f, "health", "POST", "204", f->t) == 1);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_sum",
                            "health", f->t) == 0.0);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_max",
                            "health", f->t) == 0.0);
}

static void test_reqstats_create_rejects_bad_arguments(void **state)
{
    sb_reqstats *rs = NULL;
    sb_collector c;

    (void)state;
    assert_int_equal(sb__reqstats_create(NULL, 1, methods, 1, &rs), SB_EINVAL);
    assert_int_equal(sb__reqstats_create(routes, 0, methods, 1, &rs),
                     SB_EINVAL);
    assert_int_equal(sb__reqstats_create(routes, 1, methods, 0, &rs),
                     SB_EINVAL);
    assert_int_equal(sb__reqstats_create(routes, 1, NULL, 1, &rs), SB_EINVAL);
    assert_int_equal(sb__reqstats_create(routes, 1, methods, 1, NULL),
                     SB_EINVAL);
    assert_null(rs);
    assert_int_equal(sb__collector_requests(NULL, &c), SB_EINVAL);
    sb__reqstats_destroy(NULL);
}

#define NTHREADS   4
#define PER_THREAD 50000

typedef struct worker {
    sb_reqstats *rs;
    unsigned method;
} worker;

static void *record_many(void *arg)
{
    worker *w = arg;

    for (int i = 0; i < PER_THREAD; i++)
        sb__reqstats_record(w->rs, 0, w->method, i % 2 ? 200 : 500,
                            (int64_t)(i % 1000 + 1) * US);
    return NULL;
}

static void test_reqstats_concurrent_recording_loses_nothing(void **state)
{
    fx *f = *state;
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    double sum_ns = 0;

    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){f->rs, (unsigned)(i % 3)};
        assert_int_equal(pthread_create(&th[i], NULL, record_many, &w[i]), 0);
    }
    /* Ticks while the workers record must not lose counts either. */
    for (int k = 0; k < 5; k++)
        assert_int_equal(
            f->c.collect(f->c.state, f->st, f->t + (int64_t)k * MS), 0);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(f->c.collect(f->c.state, f->st, f->t + SEC), 0);

    for (int i = 0; i < PER_THREAD; i++)
        sum_ns += (double)((i % 1000 + 1) * US);
    assert_true(route_value(f, "scoreboard_http_request_duration_seconds_count",
                            "metrics", f->t + SEC) == NTHREADS * PER_THREAD);
    assert_near(route_value(f, "scoreboard_http_request_duration_seconds_sum",
                            "metrics", f->t + SEC),
                NTHREADS * sum_ns / 1e9, 1e-12);
    /* Threads 0 and 3 both use GET. */
    assert_true(requests(f, "metrics", "GET", "200", f->t + SEC) == PER_THREAD);
    assert_true(requests(f, "metrics", "GET", "500", f->t + SEC) == PER_THREAD);
    assert_true(requests(f, "metrics", "POST", "200", f->t + SEC) ==
                PER_THREAD / 2);
    assert_true(requests(f, "metrics", "OTHER", "500", f->t + SEC) ==
                PER_THREAD / 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_reqstats_counts_requests_by_route_method_code),
        T(test_reqstats_counters_are_cumulative_across_ticks),
        T(test_reqstats_quantiles_within_documented_error),
        T(test_reqstats_quantiles_hold_across_the_range),
        T(test_reqstats_interval_figures_reset_each_tick),
        T(test_reqstats_slow_requests_keep_exact_max_and_sum),
        T(test_reqstats_ignores_bad_indexes_and_negative_time),
        cmocka_unit_test(test_reqstats_create_rejects_bad_arguments),
        T(test_reqstats_concurrent_recording_loses_nothing),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
