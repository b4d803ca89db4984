/*
 * test_store_chunks.c - the store over compressed chunks: the
 * out-of-order window, duplicates, atomic batches under the policy, the
 * memory cap, and retention by whole chunks with reads filtering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scoreboard.h"
#include "store/series.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC INT64_C(1000000000)
#define MS  INT64_C(1000000)

/* A store whose series cut chunks of a quarter of max_points. */
static sb_store *new_store_cap(size_t max_points, size_t max_memory)
{
    sb_store_options o;
    sb_store *st = NULL;

    sb_store_options_init(&o);
    o.max_points_per_series = max_points;
    o.max_series = 1000;
    o.max_memory = max_memory;
    assert_int_equal(sb_store_create(&o, &st), SB_OK);
    return st;
}

/* Chunks of 25 samples. */
static sb_store *new_store(size_t max_memory)
{
    return new_store_cap(100, max_memory);
}

static int put(sb_store *st, const char *name, double v, int64_t t)
{
    sb_sample s = {.name = name, .value = v, .time_ns = t};

    return sb_store_write(st, &s);
}

/* Every point of name, oldest first, into *out (caller frees the
 * result). */
static sb_result *points_of(sb_store *st, const char *name, int64_t since)
{
    const char *names[] = {name};
    sb_result *r = NULL;
    sb_query q;

    sb_query_init(&q);
    q.names = names;
    q.nnames = 1;
    q.since_ns = since;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    return r;
}

static size_t count_of(sb_store *st, const char *name, int64_t since)
{
    sb_result *r = points_of(st, name, since);
    size_t n = sb_result_point_count(r);

    sb_result_free(r);
    return n;
}

/* The value stored at time t of name; fails the test when absent. */
static double value_at(sb_store *st, const char *name, int64_t t)
{
    sb_result *r = points_of(st, name, t);
    sb_sample p;
    double v;

    assert_true(sb_result_point_count(r) > 0);
    sb_result_get_point(r, 0, &p);
    assert_true(p.time_ns == t);
    v = p.value;
    sb_result_free(r);
    return v;
}

static void test_late_samples_inside_the_open_chunk_are_accepted(void **state)
{
    sb_store *st = new_store(0);
    int64_t base = sb_time_now() - 600 * SEC;
    sb_store_stats stats;

    (void)state;
    /* 60 points: chunks [0, 24] and [25, 49] sealed, [50, 59] open. */
    for (int i = 0; i < 60; i++)
        assert_int_equal(put(st, "a", i, base + i * SEC), SB_OK);
    /* Between the sealed chunks' newest sample and the open chunk. */
    assert_int_equal(put(st, "a", 49.5, base + 49 * SEC + 500 * MS), SB_OK);
    /* Inside the open chunk, out of order. */
    assert_int_equal(put(st, "a", 55.5, base + 55 * SEC + 500 * MS), SB_OK);
    assert_int_equal(count_of(st, "a", INT64_MIN), 62);
    assert_true(value_at(st, "a", base + 49 * SEC + 500 * MS) == 49.5);
    assert_true(value_at(st, "a", base + 55 * SEC + 500 * MS) == 55.5);
    assert_true(value_at(st, "a", base + 56 * SEC) == 56);
    /* Appending still works after the rewrite of the open chunk. */
    assert_int_equal(put(st, "a", 60, base + 60 * SEC), SB_OK);
    assert_true(value_at(st, "a", base + 60 * SEC) == 60);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.points, 63);
    assert_int_equal(stats.rejected_out_of_order, 0);
    sb_store_destroy(st);
}

static void test_samples_older_than_the_window_are_refused(void **state)
{
    sb_store *st = new_store(0);
    int64_t base = sb_time_now() - 600 * SEC;
    sb_write_error err;
    sb_sample s = {.name = "b", .value = -1};
    sb_store_stats stats;

    (void)state;
    /* 80 points: chunks [0, 24], [25, 49], [50, 74] and [75, 79]; the
     * window is the last two. */
    for (int i = 0; i < 80; i++)
        assert_int_equal(put(st, "b", i, base + i * SEC), SB_OK);
    /* The newest sample before the window, and older ones. */
    for (int64_t t = 49; t >= 0; t -= 7) {
        s.time_ns = base + t * SEC;
        assert_int_equal(sb_store_write_batch(st, &s, 1, &err), SB_ERANGE);
        assert_int_equal(err.index, 0);
        assert_non_null(strstr(err.reason, "out-of-order window"));
    }
    assert_int_equal(count_of(st, "b", INT64_MIN), 80);
    assert_true(value_at(st, "b", base + 49 * SEC) == 49);
    /* Inside the sealed chunk of the window: accepted, replaces. */
    assert_int_equal(put(st, "b", 500, base + 50 * SEC), SB_OK);
    assert_true(value_at(st, "b", base + 50 * SEC) == 500);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.rejected_out_of_order, 8);
    assert_int_equal(stats.points, 80);
    sb_store_destroy(st);
}

static void test_duplicates_in_the_open_chunk_replace(void **state)
{
    sb_store *st = new_store(0);
    int64_t base = sb_time_now() - 600 * SEC;
    sb_store_stats stats;

    (void)state;
    for (int i = 0; i < 30; i++)
        assert_int_equal(put(st, "c", i, base + i * SEC), SB_OK);
    /* The newest point, an older one of the open chunk, the same again. */
    assert_int_equal(put(st, "c", 290, base + 29 * SEC), SB_OK);
    assert_int_equal(put(st, "c", 260, base + 26 * SEC), SB_OK);
    assert_int_equal(put(st, "c", 260, base + 26 * SEC), SB_OK);
    assert_int_equal(count_of(st, "c", INT64_MIN), 30);
    assert_true(value_at(st, "c", base + 29 * SEC) == 290);
    assert_true(value_at(st, "c", base + 26 * SEC) == 260);
    assert_true(value_at(st, "c", base + 27 * SEC) == 27);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.points, 30);
    sb_store_destroy(st);
}

/* A refusal anywhere in a batch stores nothing, not even a new series. */
static void test_out_of_order_refusal_keeps_a_batch_atomic(void **state)
{
    sb_store *st = new_store(0);
    int64_t base = sb_time_now() - 600 * SEC;
    sb_write_error err;
    sb_store_stats before, after;
    sb_sample batch[4] = {
        {.name = "new_series", .value = 1, .time_ns = base},
        {.name = "d", .value = 2, .time_ns = base + 70 * SEC},
        {.name = "d", .value = 3, .time_ns = base + 55 * SEC},
        {.name = "d", .value = 4, .time_ns = base + 10 * SEC},
    };

    (void)state;
    for (int i = 0; i < 60; i++)
        assert_int_equal(put(st, "d", i, base + i * SEC), SB_OK);
    sb_store_stats_get(st, &before);
    assert_int_equal(sb_store_write_batch(st, batch, 4, &err), SB_ERANGE);
    assert_int_equal(err.index, 3);
    sb_store_stats_get(st, &after);
    assert_int_equal(after.series, before.series);
    assert_int_equal(after.points, before.points);
    assert_int_equal(after.sample_bytes, before.sample_bytes);
    assert_int_equal(count_of(st, "new_series", INT64_MIN), 0);
    assert_int_equal(count_of(st, "d", INT64_MIN), 60);
    assert_true(value_at(st, "d", base + 55 * SEC) == 55);

    /* Without the refused sample the same batch goes in whole. */
    assert_int_equal(sb_store_write_batch(st, batch, 3, &err), SB_OK);
    assert_int_equal(count_of(st, "new_series", INT64_MIN), 1);
    assert_int_equal(count_of(st, "d", INT64_MIN), 61);
    assert_true(value_at(st, "d", base + 55 * SEC) == 3);
    sb_store_destroy(st);
}

/* A new series takes any order until its first chunk is cut; a batch in
 * descending time order lands sorted. */
static void test_first_chunk_takes_any_order(void **state)
{
    sb_store *st = new_store(0);
    int64_t base = sb_time_now() - 600 * SEC;
    sb_sample batch[20];
    sb_result *r;

    (void)state;
    for (int i = 0; i < 20; i++)
        batch[i] = (sb_sample){
            .name = "e", .value = 19 - i, .time_ns = base + (19 - i) * SEC};
    assert_int_equal(sb_store_write_batch(st, batch, 20, NULL), SB_OK);
    r = points_of(st, "e", INT64_MIN);
    assert_int_equal(sb_result_point_count(r), 20);
    for (size_t i = 0; i < 20; i++) {
        sb_sample p;

        sb_result_get_point(r, i, &p);
        assert_true(p.time_ns == base + (int64_t)i * SEC);
        assert_true(p.value == (double)i);
    }
    sb_result_free(r);
    sb_store_destroy(st);
}

/* A batch in falling time order for a new series is written sorted: all
 * of it lands, in chunks cut as for in-order points. */
static void test_a_falling_batch_is_written_in_time_order(void **state)
{
    enum { N = 3000 };
    sb_store *st = new_store_cap(100000, 0);
    int64_t base = sb_time_now() - 1200 * SEC;
    sb_sample *batch = malloc(N * sizeof *batch);
    sb_result *r;

    (void)state;
    assert_non_null(batch);
    for (int i = 0; i < N; i++)
        batch[i] = (sb_sample){.name = "fall",
                               .value = N - 1 - i,
                               .time_ns = base + (N - 1 - i) * 100 * MS};
    /* A duplicate time later in the batch wins. */
    batch[N - 1].value = -5;
    batch[N - 1].time_ns = batch[N - 2].time_ns;
    assert_int_equal(sb_store_write_batch(st, batch, N, NULL), SB_OK);
    r = points_of(st, "fall", INT64_MIN);
    assert_int_equal(sb_result_point_count(r), N - 1);
    for (size_t i = 0; i < N - 1; i++) {
        sb_sample p;

        sb_result_get_point(r, i, &p);
        assert_true(p.time_ns == base + (int64_t)(i + 1) * 100 * MS);
        assert_true(p.value == (i == 0 ? -5 : (double)(i + 1)));
    }
    sb_result_free(r);
    free(batch);
    sb_store_destroy(st);
}

/* Late points only grow a chunk; past SB_CHUNK_SPLIT it splits in two, so
 * a late point never rewrites more than that. */
static void test_late_points_split_a_growing_chunk(void **state)
{
    enum { N = 5000 };
    const sb_series_limits lim = {SB_CHUNK_MAX_SAMPLES, INT64_MAX, SIZE_MAX};
    sb_series *s = sb__series_new("x", 2, 1, 0);
    sb_point *out = malloc(N * sizeof *out);
    size_t added = 0, dropped = 0;

    (void)state;
    assert_non_null(s);
    assert_non_null(out);
    for (int i = N - 1; i >= 0; i--)
        assert_int_equal(
            sb__series_put(s, &lim, i * SEC, i * 0.5, &added, &dropped), 0);
    assert_int_equal(added, N);
    assert_true(s->nchunks >= N / SB_CHUNK_SPLIT);
    for (size_t i = 0; i < s->nchunks; i++) {
        assert_true(s->chunks[i]->n <= SB_CHUNK_SPLIT);
        if (i > 0)
            assert_true(s->chunks[i - 1]->last_t < s->chunks[i]->first_t);
    }
    assert_int_equal(sb__series_read_range(s, INT64_MIN, INT64_MAX, out), N);
    for (int i = 0; i < N; i++)
        assert_true(out[i].t == i * SEC && out[i].v == i * 0.5);
    free(out);
    sb__series_free(s);
}

/* A value that is expensive to compress (about 8 bytes a sample). */
static double noisy(uint64_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return (double)(*rng >> 11) * 0x1p-53 * 1e6;
}

/* Random batches of in-order, late and duplicate points against a sorted
 * reference: an accepted batch lands whole (the later of two points with
 * one time wins), a refused one changes nothing. */
static void test_random_batches_match_a_reference(void **state)
{
    enum { ROUNDS = 3000, MAXB = 40, MAXREF = ROUNDS * MAXB };
    sb_store *st = new_store_cap(100000, 0);
    int64_t base = sb_time_now() - 3000 * SEC, hi = 0;
    sb_point *ref = malloc(MAXREF * sizeof *ref);
    sb_sample batch[MAXB];
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    size_t nref = 0, accepted = 0, refused = 0;
    sb_result *r;

    (void)state;
    assert_non_null(ref);
    for (int round = 0; round < ROUNDS; round++) {
        size_t nb = 1 + (size_t)(noisy(&rng) * 1e-6 * MAXB);
        int rc;

        if (nb > MAXB)
            nb = MAXB;
        for (size_t i = 0; i < nb; i++) {
            /* Mostly ahead of the newest time, a third up to 50 ms
             * back (late, or the same time again), a few up to two
             * minutes back (often beyond the window). */
            int64_t t = hi + (int64_t)(noisy(&rng) * 1e-6 * 150) - 50;

            if (noisy(&rng) < 1e6 / 60)
                t = hi - (int64_t)(noisy(&rng) * 1e-6 * 120000);

            if (t < 0)
                t = 0;
            batch[i] = (sb_sample){.name = "rb",
                                   .value = (double)(round * MAXB + (int)i),
                                   .time_ns = base + t * MS};
        }
        rc = sb_store_write_batch(st, batch, nb, NULL);
        if (rc != SB_OK) {
            assert_int_equal(rc, SB_ERANGE);
            refused++;
            continue;
        }
        accepted++;
        for (size_t i = 0; i < nb; i++) {
            size_t pos = 0;

            while (pos < nref && ref[pos].t < batch[i].time_ns)
                pos++;
            if (pos < nref && ref[pos].t == batch[i].time_ns) {
                ref[pos].v = batch[i].value;
                continue;
            }
            memmove(ref + pos + 1, ref + pos, (nref - pos) * sizeof *ref);
            ref[pos] = (sb_point){batch[i].time_ns, batch[i].value};
            nref++;
            if ((batch[i].time_ns - base) / MS > hi)
                hi = (batch[i].time_ns - base) / MS;
        }
    }
    assert_true(accepted > ROUNDS / 4);
    assert_true(refused > 10);
    r = points_of(st, "rb", INT64_MIN);
    assert_int_equal(sb_result_point_count(r), nref);
    for (size_t i = 0; i < nref; i++) {
        sb_sample p;

        sb_result_get_point(r, i, &p);
        assert_true(p.time_ns == ref[i].t);
        assert_true(p.value == ref[i].v);
    }
    sb_result_free(r);
    free(ref);
    sb_store_destroy(st);
}

static void test_memory_cap_evicts_the_oldest_chunks_store_wide(void **state)
{
    enum { SERIES = 16, ROUNDS = 4000 };
    const size_t cap = 128 * 1024;
    sb_store *st = new_store_cap(100000, cap); /* chunks of 512 */
    int64_t base = sb_time_now() - 1800 * SEC, oldest = INT64_MAX;
    int64_t newest_first = INT64_MIN;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    sb_store_stats stats;
    char name[16];
    sb_result *r;

    (void)state;
    /* An old series written once, long before the others. */
    assert_int_equal(put(st, "idle", 1, base - 600 * SEC), SB_OK);
    for (int i = 0; i < ROUNDS; i++) {
        sb_sample batch[SERIES];
        char names[SERIES][16];

        for (int s = 0; s < SERIES; s++) {
            snprintf(names[s], sizeof names[s], "m%02d", s);
            batch[s] = (sb_sample){.name = names[s],
                                   .value = noisy(&rng),
                                   .time_ns = base + i * 100 * MS};
        }
        assert_int_equal(sb_store_write_batch(st, batch, SERIES, NULL), SB_OK);
        sb_store_stats_get(st, &stats);
        /* The cap holds after every write (one writer: no overshoot). */
        assert_true(stats.sample_bytes <= cap);
    }
    sb_store_stats_get(st, &stats);
    assert_true(stats.dropped_memory > 0);
    assert_int_equal(stats.dropped_capacity, 0);
    assert_int_equal(stats.points + stats.dropped_memory,
                     (size_t)SERIES * ROUNDS + 1);
    /* The old series went first. */
    assert_int_equal(count_of(st, "idle", INT64_MIN), 0);
    /* Every other series is readable up to its newest point, and the
     * oldest points kept are about as old everywhere: eviction took the
     * oldest chunks of the whole store, not one series' data. */
    for (int s = 0; s < SERIES; s++) {
        sb_sample first, last;
        size_t n;

        snprintf(name, sizeof name, "m%02d", s);
        r = points_of(st, name, INT64_MIN);
        n = sb_result_point_count(r);
        assert_true(n > 25);
        sb_result_get_point(r, 0, &first);
        sb_result_get_point(r, n - 1, &last);
        assert_true(last.time_ns == base + (ROUNDS - 1) * 100 * MS);
        if (first.time_ns < oldest)
            oldest = first.time_ns;
        if (first.time_ns > newest_first)
            newest_first = first.time_ns;
        sb_result_free(r);
    }
    /* Within two chunks (at most 512 samples, 51.2 s) of one another. */
    assert_true(newest_first - oldest <= 2 * 512 * 100 * MS);
    sb_store_destroy(st);
}

typedef struct cap_writer {
    sb_store *st;
    int id;
    int64_t base;
    size_t failed;
    pthread_t th;
} cap_writer;

enum { CAP_WRITERS = 4, CAP_BATCHES = 2500, CAP_SERIES = 8 };

/* Writes CAP_BATCHES batches of one noisy point for each of its own
 * CAP_SERIES series, in time order. */
static void *cap_writer_main(void *arg)
{
    cap_writer *w = arg;
    uint64_t rng = 0x9e3779b97f4a7c15ULL + (uint64_t)w->id;
    char names[CAP_SERIES][24];
    sb_sample batch[CAP_SERIES];

    for (int s = 0; s < CAP_SERIES; s++)
        snprintf(names[s], sizeof names[s], "w%d_s%d", w->id, s);
    for (int i = 0; i < CAP_BATCHES; i++) {
        for (int s = 0; s < CAP_SERIES; s++)
            batch[s] = (sb_sample){.name = names[s],
                                   .value = noisy(&rng),
                                   .time_ns = w->base + i * 100 * MS};
        if (sb_store_write_batch(w->st, batch, CAP_SERIES, NULL) != SB_OK)
            w->failed++;
    }
    return NULL;
}

/* Writers, a reader and sweeps at once under a small cap (TSan checks
 * the locking): no point is counted twice or lost from the accounting,
 * and the bytes end under the cap. */
/* A cap smaller than one series' bookkeeping: eviction empties the
 * series and then finds no chunk left to drop (UBSan once caught the
 * empty list being sorted from a NULL array). */
static void test_memory_cap_below_one_chunk(void **state)
{
    sb_store *st = new_store(1);
    int64_t now = sb_time_now();
    sb_store_stats stats;

    (void)state;
    for (int i = 0; i < 50; i++)
        assert_int_equal(put(st, "tiny", i, now - (50 - i) * MS), SB_OK);
    sb_store_stats_get(st, &stats);
    assert_true(stats.dropped_memory > 0);
    assert_int_equal(stats.points + stats.dropped_memory, 50);
    /* An emptied series' chunk array goes with its last chunk. */
    assert_true(stats.sample_bytes <= 1);
    sb_store_destroy(st);
}

static void test_memory_cap_under_concurrent_writers(void **state)
{
    /* Above what the 32 open chunks can hold (4 KiB each at most), so
     * that eviction never has to take a series' newest chunk. */
    const size_t cap = 256 * 1024;
    sb_store *st = new_store_cap(100000, cap);
    cap_writer w[CAP_WRITERS];
    sb_store_stats stats;
    sb_result *r;
    sb_query q;

    (void)state;
    for (int i = 0; i < CAP_WRITERS; i++) {
        w[i] =
            (cap_writer){.st = st, .id = i, .base = sb_time_now() - 1800 * SEC};
        assert_int_equal(pthread_create(&w[i].th, NULL, cap_writer_main, &w[i]),
                         0);
    }
    for (int k = 0; k < 50; k++) {
        sb_query_init(&q);
        q.latest = k % 2 == 0;
        assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
        sb_result_free(r);
        sb_store_sweep(st, sb_time_now());
    }
    for (int i = 0; i < CAP_WRITERS; i++) {
        pthread_join(w[i].th, NULL);
        assert_int_equal(w[i].failed, 0);
    }
    /* One more write from a single thread settles the cap exactly. */
    assert_int_equal(put(st, "settle", 1, sb_time_now()), SB_OK);
    sb_store_stats_get(st, &stats);
    assert_true(stats.dropped_memory > 0);
    assert_int_equal(stats.points + stats.dropped_memory,
                     (size_t)CAP_WRITERS * CAP_BATCHES * CAP_SERIES + 1);
    assert_true(stats.sample_bytes <= cap);
    /* Every series still answers with its newest point. */
    sb_query_init(&q);
    q.latest = true;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    assert_int_equal(sb_result_point_count(r), CAP_WRITERS * CAP_SERIES + 1);
    sb_result_free(r);
    sb_store_destroy(st);
}

static void test_retention_drops_whole_chunks_and_reads_filter(void **state)
{
    sb_store *st = new_store(0);
    int64_t now = sb_time_now(), base = now - 3000 * SEC;
    sb_store_stats stats;
    sb_series_info info;
    sb_result *r;
    sb_query q;

    (void)state;
    /* Chunks [0, 24], [25, 49] of one-second points. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(put(st, "r", i, base + i * SEC), SB_OK);
    /* The cutoff falls inside the first chunk: it stays, but reads hide
     * its points older than the cutoff. */
    sb_store_sweep(st, base + 3600 * SEC + 10 * SEC);
    assert_int_equal(count_of(st, "r", INT64_MIN), 40);
    assert_true(value_at(st, "r", base + 10 * SEC) == 10);
    /* The series listing agrees, from chunk headers. */
    sb_query_init(&q);
    q.series_only = true;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    assert_int_equal(sb_result_series_count(r), 1);
    sb_result_get_series(r, 0, &info);
    assert_int_equal(info.npoints, 40);
    assert_true(info.first_ns == base + 10 * SEC);
    assert_true(info.last_ns == base + 49 * SEC);
    sb_result_free(r);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.dropped_retention, 0);
    assert_int_equal(stats.points, 50); /* held, though hidden */

    /* Past the first chunk's newest point: the whole chunk goes. */
    sb_store_sweep(st, base + 3600 * SEC + 30 * SEC);
    assert_int_equal(count_of(st, "r", INT64_MIN), 20);
    sb_store_stats_get(st, &stats);
    assert_int_equal(stats.dropped_retention, 25);
    assert_int_equal(stats.points, 25);
    sb_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_samples_inside_the_open_chunk_are_accepted),
        cmocka_unit_test(test_samples_older_than_the_window_are_refused),
        cmocka_unit_test(test_duplicates_in_the_open_chunk_replace),
        cmocka_unit_test(test_out_of_order_refusal_keeps_a_batch_atomic),
        cmocka_unit_test(test_first_chunk_takes_any_order),
        cmocka_unit_test(test_a_falling_batch_is_written_in_time_order),
        cmocka_unit_test(test_late_points_split_a_growing_chunk),
        cmocka_unit_test(test_random_batches_match_a_reference),
        cmocka_unit_test(test_memory_cap_evicts_the_oldest_chunks_store_wide),
        cmocka_unit_test(test_memory_cap_below_one_chunk),
        cmocka_unit_test(test_memory_cap_under_concurrent_writers),
        cmocka_unit_test(test_retention_drops_whole_chunks_and_reads_filter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
