/*
 * test_store.c - the series store: validation, atomic batches, limits,
 * retention, ordering and the query options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scoreboard.h"
#include "store/series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC INT64_C(1000000000)

static sb_store *new_store(size_t max_series, size_t max_points)
{
    sb_store_options o;
    sb_store *st = NULL;

    sb_store_options_init(&o);
    o.max_series = max_series;
    o.max_points_per_series = max_points;
    assert_int_equal(sb_store_create(&o, &st), SB_OK);
    return st;
}

static int put(sb_store *st, const char *name, double v, int64_t t)
{
    sb_sample s = {.name = name, .value = v, .time_ns = t};

    return sb_store_write(st, &s);
}

static sb_result *query_all(sb_store *st)
{
    sb_query q;
    sb_result *r = NULL;

    sb_query_init(&q);
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    return r;
}

static size_t count_points(sb_store *st)
{
    sb_result *r = query_all(st);
    size_t n = sb_result_point_count(r);

    sb_result_free(r);
    return n;
}

static void test_store_roundtrips_points_with_labels(void **state)
{
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();
    sb_label ab[] = {{"b", "2"}, {"a", "1"}};
    sb_label ba[] = {{"a", "1"}, {"b", "2"}};
    sb_sample s1 = {"cpu", ab, 2, 1.5, now - 2 * SEC};
    sb_sample s2 = {"cpu", ba, 2, 2.5, now - SEC};
    sb_result *r;
    sb_sample out;
    sb_series_info info;

    (void)state;
    assert_int_equal(sb_store_write(st, &s1), SB_OK);
    assert_int_equal(sb_store_write(st, &s2), SB_OK);
    r = query_all(st);
    /* Label order does not matter: one series, labels sorted by key. */
    assert_int_equal(sb_result_series_count(r), 1);
    sb_result_get_series(r, 0, &info);
    assert_string_equal(info.name, "cpu");
    assert_int_equal(info.nlabels, 2);
    assert_string_equal(info.labels[0].key, "a");
    assert_string_equal(info.labels[1].value, "2");
    assert_int_equal(info.npoints, 2);
    assert_true(info.first_ns == now - 2 * SEC);
    assert_true(info.last_ns == now - SEC);
    assert_int_equal(sb_result_point_count(r), 2);
    sb_result_get_point(r, 1, &out);
    assert_true(out.value == 2.5);
    assert_true(out.time_ns == now - SEC);
    sb_result_free(r);
    sb_store_destroy(st);
}

static void test_store_keeps_special_doubles_exactly(void **state)
{
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();
    double vals[] = {NAN,  INFINITY, -INFINITY,
                     -0.0, 5e-324,   1.7976931348623157e308};
    sb_result *r;

    (void)state;
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(put(st, "x", vals[i], now - (int64_t)(10 - i) * SEC),
                         SB_OK);
    r = query_all(st);
    assert_int_equal(sb_result_point_count(r), 6);
    for (size_t i = 0; i < 6; i++) {
        sb_sample out;

        sb_result_get_point(r, i, &out);
        assert_memory_equal(&out.value, &vals[i], sizeof(double));
    }
    sb_result_free(r);
    sb_store_destroy(st);
}

typedef struct bad_case {
    const char *name;
    sb_label labels[3];
    size_t nlabels;
    int rc;
} bad_case;

static void test_store_rejects_malformed_samples(void **state)
{
    static const bad_case cases[] = {
        {"", {{0}}, 0, SB_EINVAL},
        {"1abc", {{0}}, 0, SB_EINVAL},
        {"a b", {{0}}, 0, SB_EINVAL},
        {"a\"b", {{0}}, 0, SB_EINVAL},
        {"caf\xc3\xa9", {{0}}, 0, SB_EINVAL},
        {"ok", {{"", "v"}}, 1, SB_EINVAL},
        {"ok", {{"1k", "v"}}, 1, SB_EINVAL},
        {"ok", {{"k-x", "v"}}, 1, SB_EINVAL},
        {"ok", {{"k", "v"}, {"k", "w"}}, 2, SB_EINVAL},
        {"ok", {{"k", "\xff"}}, 1, SB_EINVAL},
        {"ok", {{"k", "\xc0\xaf"}}, 1, SB_EINVAL},         /* overlong */
        {"ok", {{"k", "\xed\xa0\x80"}}, 1, SB_EINVAL},     /* surrogate */
        {"ok", {{"k", "\xf4\x90\x80\x80"}}, 1, SB_EINVAL}, /* > U+10FFFF */
        {"ok", {{"k", "\xe2\x82"}}, 1, SB_EINVAL},         /* truncated */
        {"ok", {{"k", NULL}}, 1, SB_EINVAL},
    };
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sb_sample s = {cases[i].name, cases[i].labels, cases[i].nlabels, 1,
                       now};
        sb_write_error err = {0};

        assert_int_equal(sb_store_write_batch(st, &s, 1, &err), cases[i].rc);
        assert_non_null(err.reason);
    }
    assert_int_equal(count_points(st), 0);
    sb_store_destroy(st);
}

static void test_store_enforces_name_and_label_limits(void **state)
{
    char name[SB_NAME_MAX + 2], value[SB_LABEL_VALUE_MAX + 2];
    sb_label many[SB_LABELS_MAX + 1];
    char keys[SB_LABELS_MAX + 1][8];
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();
    sb_label l = {"k", value};
    sb_sample s = {name, NULL, 0, 1, now};

    (void)state;
    memset(name, 'n', sizeof name);
    name[SB_NAME_MAX] = '\0';
    assert_int_equal(sb_store_write(st, &s), SB_OK);
    name[SB_NAME_MAX] = 'n';
    name[SB_NAME_MAX + 1] = '\0';
    assert_int_equal(sb_store_write(st, &s), SB_EINVAL);

    memset(value, 'v', sizeof value);
    value[SB_LABEL_VALUE_MAX] = '\0';
    s = (sb_sample){"v", &l, 1, 1, now};
    assert_int_equal(sb_store_write(st, &s), SB_OK);
    value[SB_LABEL_VALUE_MAX] = 'v';
    value[SB_LABEL_VALUE_MAX + 1] = '\0';
    assert_int_equal(sb_store_write(st, &s), SB_EINVAL);

    for (size_t i = 0; i <= SB_LABELS_MAX; i++) {
        snprintf(keys[i], sizeof keys[i], "k%zu", i);
        many[i] = (sb_label){keys[i], "x"};
    }
    s = (sb_sample){"m", many, SB_LABELS_MAX, 1, now};
    assert_int_equal(sb_store_write(st, &s), SB_OK);
    s.nlabels = SB_LABELS_MAX + 1;
    assert_int_equal(sb_store_write(st, &s), SB_EINVAL);
    sb_store_destroy(st);
}

static void test_store_rejects_times_outside_window(void **state)
{
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();

    (void)state;
    assert_int_equal(put(st, "t", 1, now - 3601 * SEC), SB_ERANGE);
    assert_int_equal(put(st, "t", 1, now + 601 * SEC), SB_ERANGE);
    assert_int_equal(put(st, "t", 1, INT64_MIN), SB_ERANGE);
    assert_int_equal(put(st, "t", 1, INT64_MAX), SB_ERANGE);
    assert_int_equal(put(st, "t", 1, now + 500 * SEC), SB_OK);
    assert_int_equal(put(st, "t", 1, now - 3500 * SEC), SB_OK);
    sb_store_destroy(st);
}

static void test_store_batch_is_all_or_nothing(void **state)
{
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();
    sb_sample batch[4] = {
        {"a", NULL, 0, 1, now - 3 * SEC},
        {"b", NULL, 0, 2, now - 2 * SEC},
        {"bad name", NULL, 0, 3, now - SEC},
        {"c", NULL, 0, 4, now},
    };
    sb_write_error err;
    sb_store_stats stats;

    (void)state;
    assert_int_equal(put(st, "a", 0, now - 10 * SEC), SB_OK);
    assert_int_equal(sb_store_write_batch(st, batch, 4, &err), SB_EINVAL);
    assert_int_equal(err.index, 2);
    assert_int_equal(count_points(st), 1);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.series, 1);
    assert_int_equal(stats.points, 1);

    batch[2].name = "ok";
    assert_int_equal(sb_store_write_batch(st, batch, 4, &err), SB_OK);
    assert_int_equal(count_points(st), 5);
    sb_store_destroy(st);
}

static void test_store_series_limit_refuses_new_series_only(void **state)
{
    sb_store *st = new_store(3, 100);
    int64_t now = sb_time_now();
    sb_sample batch[3] = {
        {"a", NULL, 0, 1, now - 2 * SEC},
        {"new1", NULL, 0, 1, now - SEC},
        {"new2", NULL, 0, 1, now},
    };
    sb_write_error err;
    sb_store_stats stats;

    (void)state;
    assert_int_equal(put(st, "a", 1, now - 9 * SEC), SB_OK);
    assert_int_equal(put(st, "b", 1, now - 9 * SEC), SB_OK);
    /* Two new series but one free slot: the whole batch is refused and
     * the series it created on the way are gone again. */
    assert_int_equal(sb_store_write_batch(st, batch, 3, &err), SB_ELIMIT);
    assert_int_equal(err.index, 2);
    assert_non_null(strstr(err.reason, "series limit"));
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.series, 2);
    assert_int_equal(stats.points, 2);
    assert_int_equal(stats.rejected_series, 1);
    assert_int_equal(count_points(st), 2);

    assert_int_equal(put(st, "c", 1, now), SB_OK);
    assert_int_equal(put(st, "d", 1, now), SB_ELIMIT);
    /* Existing series keep working at the cap. */
    assert_int_equal(put(st, "a", 2, now), SB_OK);
    assert_int_equal(put(st, "new1", 2, now), SB_ELIMIT);
    assert_int_equal(count_points(st), 4);
    sb_store_destroy(st);
}

static void test_store_same_time_replaces_value(void **state)
{
    sb_store *st = new_store(10, 10);
    int64_t now = sb_time_now();
    sb_result *r;
    sb_sample out;

    (void)state;
    assert_int_equal(put(st, "x", 1, now), SB_OK);
    assert_int_equal(put(st, "x", 2, now), SB_OK);
    r = query_all(st);
    assert_int_equal(sb_result_point_count(r), 1);
    sb_result_get_point(r, 0, &out);
    assert_true(out.value == 2);
    sb_result_free(r);
    sb_store_destroy(st);
}

static void test_store_drops_oldest_beyond_max_points(void **state)
{
    sb_store *st = new_store(10, 5);
    int64_t base = sb_time_now() - 100 * SEC;
    sb_store_stats stats;
    sb_result *r;

    (void)state;
    /* A cap of 5 cuts chunks of one point (a quarter of the cap). */
    for (int i = 0; i < 12; i++)
        assert_int_equal(put(st, "x", i, base + i * SEC), SB_OK);
    /* Older than the open chunk: refused, nothing changes. */
    assert_int_equal(put(st, "x", -1, base - SEC), SB_ERANGE);
    r = query_all(st);
    assert_int_equal(sb_result_point_count(r), 5);
    for (size_t i = 0; i < 5; i++) {
        sb_sample out;

        sb_result_get_point(r, i, &out);
        assert_true(out.value == (double)(7 + i));
    }
    sb_result_free(r);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.points, 5);
    assert_int_equal(stats.dropped_capacity, 7);
    assert_int_equal(stats.rejected_out_of_order, 1);
    sb_store_destroy(st);
}

/* Random writes (in order, late, duplicate times) against a reference
 * model, a plain sorted array: what the out-of-order policy accepts is
 * stored exactly, retention hides what it cuts, and every read agrees. */
static void test_store_series_chunks_match_reference_model(void **state)
{
    enum { OPS = 20000 };
    const sb_series_limits lim = {7, INT64_MAX, SIZE_MAX};
    sb_series *s = sb__series_new("x", 2, 1, 0);
    sb_point *ref = malloc(OPS * sizeof *ref), *out = malloc(OPS * sizeof *out);
    size_t nref = 0, late = 0, refused = 0;
    uint64_t rng = 88172645463325252ULL;
    int64_t cutoff = INT64_MIN;

    (void)state;
    assert_non_null(s);
    assert_non_null(ref);
    assert_non_null(out);
    for (int op = 0; op < OPS; op++) {
        size_t added = 0, dropped = 0, pos = 0;
        double v = (op % 3 == 0) ? (double)op / 10 : (double)op * 1.1e-7;
        int64_t t;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        t = op / 2 + (int64_t)(rng % 64) - 48;
        if (t < cutoff)
            continue; /* the store refuses it as older than retention */
        if (!sb__series_accepts(s, t)) {
            refused++;
            continue;
        }
        late += nref > 0 && t <= ref[nref - 1].t;
        assert_int_equal(sb__series_put(s, &lim, t, v, &added, &dropped), 0);
        assert_int_equal(dropped, 0);

        while (pos < nref && ref[pos].t < t)
            pos++;
        if (pos < nref && ref[pos].t == t) {
            ref[pos].v = v;
            assert_int_equal(added, 0);
        } else {
            memmove(ref + pos + 1, ref + pos, (nref - pos) * sizeof *ref);
            ref[pos] = (sb_point){t, v};
            nref++;
            assert_int_equal(added, 1);
        }
        if (op % 997 == 0) {
            cutoff = t - 20;
            sb__series_trim(s, cutoff);
            pos = 0;
            while (pos < nref && ref[pos].t < cutoff)
                pos++;
            memmove(ref, ref + pos, (nref - pos) * sizeof *ref);
            nref -= pos;
            sb__series_shrink(s);
        }
        if (op % 101 != 0 && op < OPS - 1)
            continue;
        assert_int_equal(sb__series_count_range(s, INT64_MIN, INT64_MAX), nref);
        assert_int_equal(sb__series_read_range(s, INT64_MIN, INT64_MAX, out),
                         nref);
        for (size_t i = 0; i < nref; i++) {
            assert_true(out[i].t == ref[i].t);
            assert_memory_equal(&out[i].v, &ref[i].v, sizeof(double));
        }
    }
    /* The mix exercised every path. */
    assert_true(late > 100);
    assert_true(refused > 100);
    assert_true(s->nchunks > 3);
    free(ref);
    free(out);
    sb__series_free(s);
}

/* The range read contract over several chunks: inclusive bounds, empty
 * and inverted ranges, chunks cut by a bound, and the newest point. */
static void test_store_series_read_range(void **state)
{
    const sb_series_limits lim = {2, INT64_MAX, 4};
    sb_series *s = sb__series_new("x", 2, 1, 0);
    sb_point out[8], last;
    int64_t first, lastt;
    size_t added = 0, dropped = 0;

    (void)state;
    assert_non_null(s);
    for (int64_t t = 10; t <= 60; t += 10) /* chunks of 2, cap 4 */
        assert_int_equal(
            sb__series_put(s, &lim, t, (double)t / 10, &added, &dropped), 0);
    assert_int_equal(added, 6);
    assert_int_equal(dropped, 2); /* the chunk [10, 20] */
    assert_int_equal(s->nchunks, 2);
    assert_int_equal(sb__series_count_range(s, INT64_MIN, INT64_MAX), 4);
    assert_int_equal(sb__series_count_range(s, 40, 50), 2);
    assert_int_equal(sb__series_count_range(s, 41, 49), 0);
    assert_int_equal(sb__series_count_range(s, 50, 40), 0);
    assert_int_equal(sb__series_read_range(s, 35, 60, out), 3);
    assert_true(out[0].t == 40 && out[0].v == 4.0);
    assert_true(out[2].t == 60 && out[2].v == 6.0);
    assert_int_equal(sb__series_read_range(s, 61, INT64_MAX, out), 0);
    assert_int_equal(sb__series_read_range(s, INT64_MIN, 30, out), 1);
    assert_true(out[0].t == 30);
    assert_true(sb__series_last(s, &last));
    assert_true(last.t == 60 && last.v == 6.0);
    /* The span: count and bounds, chunks cut by a bound or not. */
    assert_int_equal(sb__series_span(s, 35, 60, &first, &lastt), 3);
    assert_true(first == 40 && lastt == 60);
    assert_int_equal(sb__series_span(s, INT64_MIN, INT64_MAX, &first, &lastt),
                     4);
    assert_true(first == 30 && lastt == 60);
    assert_int_equal(sb__series_span(s, 41, 49, &first, &lastt), 0);
    assert_true(first == 0 && lastt == 0);

    /* Retention keeps the chunk [50, 60] but hides 50 from every read. */
    assert_int_equal(sb__series_trim(s, 55), 2);
    assert_int_equal(sb__series_count_range(s, INT64_MIN, INT64_MAX), 1);
    assert_int_equal(sb__series_read_range(s, INT64_MIN, INT64_MAX, out), 1);
    assert_true(out[0].t == 60);
    assert_int_equal(sb__series_span(s, INT64_MIN, INT64_MAX, &first, &lastt),
                     1);
    assert_true(first == 60 && lastt == 60);
    assert_int_equal(s->npoints, 2);
    assert_int_equal(sb__series_trim(s, 61), 2);
    assert_false(sb__series_last(s, &last));
    assert_int_equal(s->nchunks, 0);
    sb__series_free(s);
}

static void test_store_sweep_removes_aged_out_series(void **state)
{
    sb_store *st = new_store(1000, 100);
    int64_t now = sb_time_now();
    sb_store_stats stats;

    (void)state;
    assert_int_equal(put(st, "old", 1, now - 50 * 60 * SEC), SB_OK);
    assert_int_equal(put(st, "mixed", 1, now - 50 * 60 * SEC), SB_OK);
    assert_int_equal(put(st, "mixed", 2, now - 5 * 60 * SEC), SB_OK);
    for (int i = 0; i < 200; i++) {
        char name[16];

        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(put(st, name, 1, now - 40 * 60 * SEC), SB_OK);
    }
    assert_int_equal(sb_store_sweep(st, now), 0);
    /* 20 minutes later the cutoff is now - 40 min. */
    assert_int_equal(sb_store_sweep(st, now + 20 * 60 * SEC + 1), 201);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.series, 1);
    assert_int_equal(stats.points, 1);
    assert_int_equal(stats.dropped_retention, 202);
    assert_int_equal(count_points(st), 1);
    /* The freed slots are reusable and lookups still work. */
    assert_int_equal(put(st, "mixed", 3, now), SB_OK);
    assert_int_equal(put(st, "s5", 3, now), SB_OK);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.series, 2);
    assert_int_equal(stats.points, 3);
    sb_store_destroy(st);
}

static void test_store_query_orders_by_time_then_series(void **state)
{
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();
    const char *names[] = {"zeta", "alpha", "mid"};
    sb_result *r;
    int64_t prev_t = INT64_MIN;
    const char *prev_name = "";

    (void)state;
    for (int i = 0; i < 30; i++)
        assert_int_equal(put(st, names[i % 3], i, now - (i / 2) * SEC), SB_OK);
    r = query_all(st);
    assert_int_equal(sb_result_point_count(r), 30);
    for (size_t i = 0; i < 30; i++) {
        sb_sample out;

        sb_result_get_point(r, i, &out);
        assert_true(out.time_ns >= prev_t);
        if (out.time_ns == prev_t)
            assert_true(strcmp(prev_name, out.name) < 0);
        prev_t = out.time_ns;
        prev_name = out.name;
    }
    sb_result_free(r);
    sb_store_destroy(st);
}

/* A reference point for the merge test: its series name and the value,
 * which identifies the point. */
typedef struct ref_point {
    int64_t t;
    char name[16];
    double v;
} ref_point;

static int cmp_ref(const void *a, const void *b)
{
    const ref_point *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Many series of different lengths (odd run counts, empty series, shared
 * and unique times): the result must equal the reference order, time
 * first and series name on ties, point for point. */
static void test_store_query_merge_matches_reference_order(void **state)
{
    enum { NSERIES = 37, MAXPTS = 40 };
    sb_store *st = new_store(1000, 1000);
    int64_t now = sb_time_now();
    ref_point *ref = calloc(NSERIES * MAXPTS, sizeof *ref);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    size_t n = 0;
    sb_result *r;

    (void)state;
    assert_non_null(ref);
    for (int s = 0; s < NSERIES; s++) {
        int npts = s % 5 == 4 ? 0 : 1 + (s * 7) % MAXPTS;
        int64_t t = now - 600 * SEC;

        for (int i = 0; i < npts; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += (int64_t)(x % 3) * SEC + 1; /* strictly increasing */
            snprintf(ref[n].name, sizeof ref[n].name, "s%02d", s);
            ref[n].t = t - (t % SEC); /* many ties across series */
            ref[n].v = (double)n;
            if (n > 0 && strcmp(ref[n - 1].name, ref[n].name) == 0 &&
                ref[n - 1].t == ref[n].t)
                continue; /* same series, same second: skip */
            assert_int_equal(put(st, ref[n].name, ref[n].v, ref[n].t), SB_OK);
            n++;
        }
    }
    qsort(ref, n, sizeof *ref, cmp_ref);
    r = query_all(st);
    assert_int_equal(sb_result_point_count(r), n);
    for (size_t i = 0; i < n; i++) {
        sb_sample out;

        sb_result_get_point(r, i, &out);
        assert_int_equal(out.time_ns, ref[i].t);
        assert_string_equal(out.name, ref[i].name);
        assert_true(out.value == ref[i].v);
    }
    sb_result_free(r);
    sb_store_destroy(st);
    free(ref);
}

static void test_store_query_filters_and_limits(void **state)
{
    sb_store *st = new_store(100, 100);
    int64_t now = sb_time_now();
    const char *want[] = {"b", "c"};
    sb_query q;
    sb_result *r;
    sb_sample out;

    (void)state;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(put(st, "a", i, now - (20 - 2 * i) * SEC), SB_OK);
        assert_int_equal(put(st, "b", 100 + i, now - (19 - 2 * i) * SEC),
                         SB_OK);
        assert_int_equal(put(st, "c", 200 + i, now - (30 - i) * SEC), SB_OK);
    }

    sb_query_init(&q);
    q.names = want;
    q.nnames = 2;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    assert_int_equal(sb_result_point_count(r), 20);
    assert_int_equal(sb_result_series_count(r), 2);
    sb_result_free(r);

    /* since/until are inclusive. */
    sb_query_init(&q);
    q.since_ns = now - 19 * SEC;
    q.until_ns = now - 3 * SEC;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    assert_int_equal(sb_result_point_count(r), 17);
    sb_result_free(r);

    /* limit keeps the newest N across all series. */
    sb_query_init(&q);
    q.limit = 3;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    assert_int_equal(sb_result_point_count(r), 3);
    sb_result_get_point(r, 2, &out);
    assert_true(out.value == 109);
    sb_result_get_point(r, 0, &out);
    assert_true(out.value == 108);
    sb_result_free(r);

    /* latest: one point per series, its newest. */
    sb_query_init(&q);
    q.latest = true;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    assert_int_equal(sb_result_point_count(r), 3);
    sb_result_get_point(r, 0, &out);
    assert_string_equal(out.name, "c");
    assert_true(out.value == 209);
    sb_result_free(r);

    /* series_only counts without copying points. */
    sb_query_init(&q);
    q.series_only = true;
    q.since_ns = now - 10 * SEC;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    assert_int_equal(sb_result_point_count(r), 0);
    assert_int_equal(sb_result_series_count(r), 2);
    sb_result_free(r);

    /* A result above max_points is refused. */
    sb_query_init(&q);
    q.max_points = 29;
    assert_int_equal(sb_store_query(st, &q, &r), SB_ETOOLARGE);
    assert_null(r);
    q.max_points = 30;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    sb_result_free(r);
    sb_store_destroy(st);
}

/* A limit smaller than the data prunes while collecting; the answer must
 * equal the tail of the unlimited, unpruned result. */
static void test_store_limit_prunes_without_changing_the_answer(void **state)
{
    sb_store *st = new_store(1000, 100);
    int64_t now = sb_time_now();
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    size_t limits[] = {1, 37, 500, 4000, 20000};
    sb_result *all;

    (void)state;
    for (int i = 0; i < 300; i++) {
        char name[16];

        snprintf(name, sizeof name, "s%03d", i);
        for (int j = 0; j < 50; j++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            /* Few distinct times, so many ties cross series; each
             * series' times rise (the out-of-order window is a chunk). */
            assert_int_equal(put(st, name, (double)j,
                                 now - (int64_t)(200 - 4 * j + rng % 3) * SEC),
                             SB_OK);
        }
    }
    all = query_all(st);
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
        size_t n = sb_result_point_count(all), want;
        sb_query q;
        sb_result *r;

        sb_query_init(&q);
        q.limit = limits[li];
        q.max_points = 5000;
        want = n < q.limit ? n : q.limit;
        if (want > q.max_points) {
            assert_int_equal(sb_store_query(st, &q, &r), SB_ETOOLARGE);
            continue;
        }
        assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
        assert_int_equal(sb_result_point_count(r), want);
        for (size_t i = 0; i < want; i++) {
            sb_sample a, b;

            sb_result_get_point(r, i, &a);
            sb_result_get_point(all, n - want + i, &b);
            assert_string_equal(a.name, b.name);
            assert_true(a.time_ns == b.time_ns);
            assert_true(a.value == b.value);
        }
        sb_result_free(r);
    }

    /* The cap applies to what the limit leaves, not to what it scans. */
    {
        sb_query q;
        sb_result *r = NULL;

        sb_query_init(&q);
        q.limit = 5001;
        q.max_points = 5000;
        assert_int_equal(sb_store_query(st, &q, &r), SB_ETOOLARGE);
        assert_null(r);
        q.max_points = 100;
        q.limit = 100;
        assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
        assert_int_equal(sb_result_point_count(r), 100);
        sb_result_free(r);
    }
    sb_result_free(all);
    sb_store_destroy(st);
}

static void test_store_rejects_bad_options(void **state)
{
    sb_store_options o;
    sb_store *st = (sb_store *)&o;

    (void)state;
    sb_store_options_init(&o);
    o.max_series = 0;
    assert_int_equal(sb_store_create(&o, &st), SB_EINVAL);
    assert_null(st);
    sb_store_options_init(&o);
    o.retention_ns = 0;
    assert_int_equal(sb_store_create(&o, &st), SB_EINVAL);
    sb_store_destroy(NULL);
    sb_result_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_roundtrips_points_with_labels),
        cmocka_unit_test(test_store_keeps_special_doubles_exactly),
        cmocka_unit_test(test_store_rejects_malformed_samples),
        cmocka_unit_test(test_store_enforces_name_and_label_limits),
        cmocka_unit_test(test_store_rejects_times_outside_window),
        cmocka_unit_test(test_store_batch_is_all_or_nothing),
        cmocka_unit_test(test_store_series_limit_refuses_new_series_only),
        cmocka_unit_test(test_store_same_time_replaces_value),
        cmocka_unit_test(test_store_drops_oldest_beyond_max_points),
        cmocka_unit_test(test_store_series_chunks_match_reference_model),
        cmocka_unit_test(test_store_series_read_range),
        cmocka_unit_test(test_store_sweep_removes_aged_out_series),
        cmocka_unit_test(test_store_query_orders_by_time_then_series),
        cmocka_unit_test(test_store_query_merge_matches_reference_order),
        cmocka_unit_test(test_store_query_filters_and_limits),
        cmocka_unit_test(test_store_limit_prunes_without_changing_the_answer),
        cmocka_unit_test(test_store_rejects_bad_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
