/*
 * test_statsd_agg.c - the StatsD aggregator: exact counter, gauge, timer,
 * histogram and set aggregates as written to a store at each flush,
 * sample-rate scaling, tags as labels, the key, set and reservoir
 * limits, idle expiry, malformed lines among good ones, and concurrent
 * feeding while flushing (for TSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collect/statsd.h"
#include "scoreboard.h"
#include "unit/support/store_probe.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC INT64_C(1000000000)

typedef struct fixture {
    sb_store *store;
    sb_statsd_agg *agg;
    sb_statsd_line *line;
    int64_t t; /* time of the next flush */
} fixture;

static int setup_with(void **state, const sb_statsd_limits *lim)
{
    fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    assert_int_equal(sb_store_create(NULL, &f->store), SB_OK);
    assert_int_equal(sb__statsd_agg_create(lim, NULL, &f->agg), SB_OK);
    f->line = malloc(sizeof *f->line);
    assert_non_null(f->line);
    f->t = sb_time_now() - 60 * SEC;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int teardown(void **state)
{
    fixture *f = *state;

    sb__statsd_agg_destroy(f->agg);
    sb_store_destroy(f->store);
    free(f->line);
    free(f);
    return 0;
}

static void feed(fixture *f, const char *text)
{
    sb__statsd_agg_feed(f->agg, SB_STATSD_UDP, text, strlen(text), f->line);
}

/* Flushes and returns the flush's time stamp. */
static int64_t flush(fixture *f)
{
    int64_t t = f->t;

    assert_int_equal(sb__statsd_agg_flush(f->agg, f->store, t), SB_OK);
    f->t += SEC;
    return t;
}

/* The value of name{kv} at t; fails the test when absent. */
static double val(fixture *f, const char *name, const char *const *kv,
                  size_t nkv, int64_t t)
{
    double v = NAN;

    if (sb_test_value_at(f->store, name, kv, nkv, t, &v) != 1)
        fail_msg("no single point for %s at %lld", name, (long long)t);
    return v;
}

static bool has(fixture *f, const char *name, const char *const *kv, size_t nkv,
                int64_t t)
{
    double v;

    return sb_test_value_at(f->store, name, kv, nkv, t, &v) > 0;
}

#define V(f, name, t) val((f), (name), NULL, 0, (t))

static void test_statsd_counter_is_cumulative_and_scaled_by_rate(void **st)
{
    fixture *f = *st;
    int64_t t1, t2, t3;

    feed(f, "hits:1|c\nhits:2|c\nhits:1|c|@0.25\n");
    t1 = flush(f);
    assert_true(V(f, "hits_total", t1) == 7);
    feed(f, "hits:3|c\nreq_total:5|c\n");
    t2 = flush(f);
    assert_true(V(f, "hits_total", t2) == 10);
    /* A name already ending in _total is not suffixed twice. */
    assert_true(V(f, "req_total", t2) == 5);
    assert_false(has(f, "req_total_total", NULL, 0, t2));
    /* No update: the running total is written again. */
    t3 = flush(f);
    assert_true(V(f, "hits_total", t3) == 10);
}

static void test_statsd_gauge_sets_adds_and_persists(void **st)
{
    fixture *f = *st;
    int64_t t1, t2;

    feed(f, "temp:20|g\ntemp:+5|g\ntemp:-2.5|g\nfresh:-3|g\n");
    t1 = flush(f);
    assert_true(V(f, "temp", t1) == 22.5);
    /* A delta on an unseen gauge starts from zero. */
    assert_true(V(f, "fresh", t1) == -3);
    feed(f, "temp:7|g|@0.5\n");
    t2 = flush(f);
    assert_true(V(f, "temp", t2) == 7); /* the sample rate is ignored */
    assert_true(V(f, "fresh", t2) == -3);
}

static void test_statsd_timer_aggregates_are_exact(void **st)
{
    static const char *const q50[] = {"quantile", "0.5"};
    static const char *const q90[] = {"quantile", "0.9"};
    static const char *const q99[] = {"quantile", "0.99"};
    fixture *f = *st;
    char line[64];
    int64_t t1, t2;

    /* 1..100 ms in a scrambled order (37 is coprime with 100). */
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "lat:%d|ms\n", (i * 37) % 100 + 1);
        feed(f, line);
    }
    t1 = flush(f);
    assert_true(V(f, "lat_seconds_count", t1) == 100);
    assert_true(V(f, "lat_seconds_sum", t1) == 5050.0 / 1000);
    assert_true(V(f, "lat_seconds_min", t1) == 1.0 / 1000);
    assert_true(V(f, "lat_seconds_max", t1) == 100.0 / 1000);
    assert_true(V(f, "lat_seconds_mean", t1) == 5050.0 / 100 / 1000);
    assert_true(val(f, "lat_seconds", q50, 1, t1) == 50.0 / 1000);
    assert_true(val(f, "lat_seconds", q90, 1, t1) == 90.0 / 1000);
    assert_true(val(f, "lat_seconds", q99, 1, t1) == 99.0 / 1000);
    /* Nothing in the next interval: nothing written. */
    t2 = flush(f);
    assert_false(has(f, "lat_seconds_count", NULL, 0, t2));
}

static void test_statsd_histogram_with_rate_and_tags(void **st)
{
    static const char *const kv[] = {"env", "prod"};
    static const char *const kvq[] = {"env", "prod", "quantile", "0.5"};
    fixture *f = *st;
    int64_t t;

    feed(f, "size:10|h|@0.5|#env:prod\nsize:30|d|#env:prod\n"
            "size:20|h|@0.5|#env:prod\n");
    t = flush(f);
    assert_true(val(f, "size_count", kv, 1, t) == 5);
    assert_true(val(f, "size_sum", kv, 1, t) == 20 + 30 + 40);
    assert_true(val(f, "size_min", kv, 1, t) == 10);
    assert_true(val(f, "size_max", kv, 1, t) == 30);
    assert_true(val(f, "size_mean", kv, 1, t) == 20);
    assert_true(val(f, "size", kvq, 2, t) == 20);
    /* ms timers ending in _seconds keep their name. */
    feed(f, "rt_seconds:250|ms\n");
    t = flush(f);
    assert_true(V(f, "rt_seconds_max", t) == 0.25);
}

static void test_statsd_set_counts_unique_members_per_flush(void **st)
{
    fixture *f = *st;
    int64_t t1, t2, t3;

    feed(f, "users:alice|s\nusers:bob|s\nusers:alice|s\nusers:carol|s\n");
    t1 = flush(f);
    assert_true(V(f, "users_unique", t1) == 3);
    feed(f, "users:alice|s\n");
    t2 = flush(f);
    assert_true(V(f, "users_unique", t2) == 1);
    t3 = flush(f);
    assert_false(has(f, "users_unique", NULL, 0, t3));
}

static void test_statsd_tags_in_any_order_share_a_series(void **st)
{
    static const char *const kv[] = {"a", "1", "b", "2"};
    fixture *f = *st;
    sb_statsd_stats s;
    int64_t t;

    feed(f, "c:1|c|#a:1,b:2\nc:1|c|#b:2,a:1\nc:1|c\nc:1|g\n");
    t = flush(f);
    assert_true(val(f, "c_total", kv, 2, t) == 2);
    assert_true(V(f, "c_total", t) == 1);
    assert_true(V(f, "c", t) == 1);
    sb__statsd_agg_stats(f->agg, &s);
    assert_int_equal(s.keys, 3);
}

static void test_statsd_bad_lines_do_not_drop_good_ones(void **st)
{
    fixture *f = *st;
    sb_statsd_stats s;
    int64_t t;
    static const char packet[] = "a:1|c\r\n"
                                 "garbage\n"
                                 "\n"
                                 "a:2|c|@0\n"
                                 "a:NaN|c\n"
                                 "a:4|c\n"
                                 "b:1|c|#k:\xff\n"
                                 "a:8|c";

    sb__statsd_agg_feed(f->agg, SB_STATSD_TCP, packet, sizeof packet - 1,
                        f->line);
    t = flush(f);
    assert_true(V(f, "a_total", t) == 13);
    assert_false(has(f, "b_total", NULL, 0, t));
    sb__statsd_agg_stats(f->agg, &s);
    assert_int_equal(s.lines[SB_STATSD_TCP], 7);
    assert_int_equal(s.malformed[SB_STATSD_TCP], 4);
    assert_int_equal(s.lines[SB_STATSD_UDP], 0);
    /* The self-metrics carry the same counts. */
    {
        static const char *const tcp[] = {"transport", "tcp"};

        assert_true(
            val(f, "scoreboard_statsd_malformed_lines_total", tcp, 1, t) == 4);
        assert_true(val(f, "scoreboard_statsd_lines_total", tcp, 1, t) == 7);
    }
}

static void test_statsd_overflowing_lines_are_refused(void **st)
{
    fixture *f = *st;
    sb_statsd_stats s;
    int64_t t;

    feed(f, "big:1e308|c\nbig:1e308|c\ntiny:1|c|@1e-320\n"
            "g:1e308|g\ng:+1e308|g\nh:1e308|h\nh:1e308|h\n");
    t = flush(f);
    assert_true(V(f, "big_total", t) == 1e308);
    assert_true(V(f, "g", t) == 1e308);
    assert_true(V(f, "h_count", t) == 1);
    assert_true(V(f, "h_sum", t) == 1e308);
    sb__statsd_agg_stats(f->agg, &s);
    assert_int_equal(s.malformed[SB_STATSD_UDP], 4);
}

static int setup_small(void **state)
{
    sb_statsd_limits lim;

    sb__statsd_limits_init(&lim);
    lim.max_keys = 3;
    lim.reservoir = 8;
    lim.set_max = 4;
    lim.idle_flushes = 2;
    return setup_with(state, &lim);
}

static void test_statsd_key_limit_drops_new_keys(void **st)
{
    static const char *const kl[] = {"reason", "key_limit"};
    fixture *f = *st;
    sb_statsd_stats s;
    int64_t t;

    feed(f, "k1:1|c\nk2:1|c\nk3:1|c\nk4:1|c\nk1:1|c\n");
    t = flush(f);
    assert_true(V(f, "k1_total", t) == 2);
    assert_false(has(f, "k4_total", NULL, 0, t));
    sb__statsd_agg_stats(f->agg, &s);
    assert_int_equal(s.dropped[SB_STATSD_DROP_KEY_LIMIT], 1);
    assert_true(val(f, "scoreboard_statsd_dropped_lines_total", kl, 1, t) == 1);
}

static void test_statsd_idle_counters_expire(void **st)
{
    fixture *f = *st;
    sb_statsd_stats s;
    int64_t t;

    feed(f, "k1:5|c\n");
    flush(f);
    flush(f);     /* idle 1 */
    t = flush(f); /* idle 2: still written */
    assert_true(V(f, "k1_total", t) == 5);
    t = flush(f); /* idle 3: forgotten */
    assert_false(has(f, "k1_total", NULL, 0, t));
    sb__statsd_agg_stats(f->agg, &s);
    assert_int_equal(s.keys, 0);
    feed(f, "k1:1|c\n");
    t = flush(f);
    assert_true(V(f, "k1_total", t) == 1); /* restarted */
}

static void test_statsd_set_limit_and_reservoir_bound(void **st)
{
    fixture *f = *st;
    sb_statsd_stats s;
    char line[64];
    double p50;
    int64_t t;

    feed(f, "u:a|s\nu:b|s\nu:c|s\nu:d|s\nu:e|s\nu:a|s\n");
    for (int i = 1; i <= 1000; i++) {
        snprintf(line, sizeof line, "h:%d|h\n", i);
        feed(f, line);
    }
    t = flush(f);
    assert_true(V(f, "u_unique", t) == 4);
    sb__statsd_agg_stats(f->agg, &s);
    assert_int_equal(s.dropped[SB_STATSD_DROP_SET_LIMIT], 1);
    /* count, sum, min, max and mean stay exact past the reservoir. */
    assert_true(V(f, "h_count", t) == 1000);
    assert_true(V(f, "h_sum", t) == 500500);
    assert_true(V(f, "h_min", t) == 1);
    assert_true(V(f, "h_max", t) == 1000);
    assert_true(V(f, "h_mean", t) == 500.5);
    {
        static const char *const q[] = {"quantile", "0.5"};

        p50 = val(f, "h", q, 1, t);
    }
    assert_true(p50 >= 1 && p50 <= 1000 && p50 == floor(p50));
}

/* ------------------------------------------------------------ threads */

typedef struct feeder {
    sb_statsd_agg *agg;
    int transport;
} feeder;

static void *feed_thread(void *arg)
{
    feeder *fd = arg;
    sb_statsd_line *line = malloc(sizeof *line);
    static const char packet[] = "n:1|c\nt:5|ms\ns:x|s\ng:+1|g\nbad\n";

    assert_non_null(line);
    for (int i = 0; i < 2000; i++)
        sb__statsd_agg_feed(fd->agg, fd->transport, packet, sizeof packet - 1,
                            line);
    free(line);
    return NULL;
}

static void test_statsd_concurrent_feeds_lose_nothing(void **st)
{
    fixture *f = *st;
    feeder a = {f->agg, SB_STATSD_UDP}, b = {f->agg, SB_STATSD_TCP};
    pthread_t ta, tb;
    sb_statsd_stats s;
    int64_t t;

    assert_int_equal(pthread_create(&ta, NULL, feed_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, feed_thread, &b), 0);
    for (int i = 0; i < 5; i++)
        flush(f);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    t = flush(f);
    assert_true(V(f, "n_total", t) == 4000);
    assert_true(V(f, "g", t) == 4000);
    sb__statsd_agg_stats(f->agg, &s);
    assert_int_equal(s.lines[SB_STATSD_UDP] + s.lines[SB_STATSD_TCP],
                     2 * 2000 * 5);
    assert_int_equal(s.malformed[SB_STATSD_UDP] + s.malformed[SB_STATSD_TCP],
                     2 * 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_statsd_counter_is_cumulative_and_scaled_by_rate, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_gauge_sets_adds_and_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statsd_timer_aggregates_are_exact,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_histogram_with_rate_and_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_set_counts_unique_members_per_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_tags_in_any_order_share_a_series, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_bad_lines_do_not_drop_good_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_overflowing_lines_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statsd_key_limit_drops_new_keys,
                                        setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_statsd_idle_counters_expire,
                                        setup_small, teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_set_limit_and_reservoir_bound, setup_small, teardown),
        cmocka_unit_test_setup_teardown(
            test_statsd_concurrent_feeds_lose_nothing, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
