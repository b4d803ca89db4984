/*
 * store_bench.c - the compressed store's own figures (make bench):
 *
 *   bytes per sample  one hour of one-second samples for 1,000 series (400
 *                     gauges changing about once a minute, 300 counters
 *                     rising 0-200 a second, 200 one-decimal percentages
 *                     in a random walk, 100 latencies in seconds with
 *                     microsecond resolution), written through
 *                     sb_store_write_batch, as the store's own accounting
 *                     (sb_store_stats: sample_bytes / points) reports it;
 *                     each kind also alone
 *   append rate       samples per second on one thread: through
 *                     sb_store_write_batch (batches of one sample for each
 *                     of 1,000 series, names validated and hashed every
 *                     time), and through the per-series append path
 *                     (sb__series_put) without the batch machinery
 *
 * Each figure is the median of RUNS runs (3; 1 with --smoke, which also
 * shrinks the data to 20 series and 5 minutes). Times come from
 * CLOCK_MONOTONIC; nothing here is a test.
 */
#include "scoreboard.h"
#include "store/series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEC INT64_C(1000000000)

enum kind { GAUGE, COUNTER, PERCENT, LATENCY, NKINDS };

static const char *const kind_names[NKINDS] = {"gauges", "counters",
                                               "percentages", "latencies"};

typedef struct bench_cfg {
    int series;  /* of the mix, in the 4:3:2:1 proportions */
    int seconds; /* samples per series */
    int runs;
} bench_cfg;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Kind of series i of n in the 4:3:2:1 mix. */
static enum kind kind_of(int i, int n)
{
    int tenth = i * 10 / n;

    return tenth < 4   ? GAUGE
           : tenth < 7 ? COUNTER
           : tenth < 9 ? PERCENT
                       : LATENCY;
}

static double first_value(enum kind k)
{
    switch (k) {
    case GAUGE:
        return (double)(rnd() % 100000);
    case COUNTER:
        return (double)(rnd() % 1000000);
    case PERCENT:
        return (double)(rnd() % 1001) / 10;
    default:
        return (double)(1000 + rnd() % 250000) / 1e6;
    }
}

static double next_value(enum kind k, double prev)
{
    double p;

    switch (k) {
    case GAUGE:
        return rnd() % 60 == 0 ? (double)(rnd() % 100000) : prev;
    case COUNTER:
        return prev + (double)(rnd() % 201);
    case PERCENT: /* steps of -0.5 .. +0.5, kept within 0 .. 100 */
        p = round(prev * 10) + (double)(rnd() % 11) - 5;
        p = p < 0 ? 0 : p > 1000 ? 1000 : p;
        return p / 10;
    default: /* 1 ms .. 251 ms, in microseconds */
        return (double)(1000 + rnd() % 250000) / 1e6;
    }
}

static sb_store *new_store(void)
{
    sb_store_options o;
    sb_store *st = NULL;

    sb_store_options_init(&o);
    o.retention_ns = 2 * 3600 * SEC;
    o.max_series = 100000;
    o.max_points_per_series = 100000;
    o.max_memory = 0;
    if (sb_store_create(&o, &st) != SB_OK) {
        fprintf(stderr, "store_bench: cannot create a store\n");
        exit(1);
    }
    return st;
}

/*
 * Writes cfg->seconds one-second samples for the series whose kind is
 * only (or all kinds when only is NKINDS), one batch per second, ending
 * now. Returns the elapsed seconds of the writes alone.
 */
static double load(sb_store *st, const bench_cfg *cfg, enum kind only)
{
    int n = cfg->series, m = 0;
    char(*names)[24] = malloc((size_t)n * sizeof *names);
    sb_sample *batch = malloc((size_t)n * sizeof *batch);
    double *vals = malloc((size_t)n * sizeof *vals), t0, el = 0;
    int64_t base = (sb_time_now() / SEC - cfg->seconds) * SEC;
    sb_write_error err;

    if (names == NULL || batch == NULL || vals == NULL)
        exit(1);
    for (int i = 0; i < n; i++) {
        if (only != NKINDS && kind_of(i, n) != only)
            continue;
        snprintf(names[m], sizeof names[m], "bench_%05d", i);
        batch[m] = (sb_sample){.name = names[m]};
        vals[m] = first_value(kind_of(i, n));
        m++;
    }
    for (int s = 0; s < cfg->seconds; s++) {
        for (int i = 0, j = 0; i < n; i++) {
            if (only != NKINDS && kind_of(i, n) != only)
                continue;
            batch[j].time_ns = base + s * SEC;
            batch[j].value = vals[j];
            vals[j] = next_value(kind_of(i, n), vals[j]);
            j++;
        }
        t0 = now_s();
        if (sb_store_write_batch(st, batch, (size_t)m, &err) != SB_OK) {
            fprintf(stderr, "store_bench: write refused: %s (sample %zu)\n",
                    err.reason, err.index);
            exit(1);
        }
        el += now_s() - t0;
    }
    free(names);
    free(batch);
    free(vals);
    return el;
}

static void bytes_per_sample(const bench_cfg *cfg)
{
    sb_store_stats s;
    sb_store *st;

    printf("bytes per sample (store accounting: chunks, open-chunk slack, "
           "chunk pointer arrays)\n");
    st = new_store();
    load(st, cfg, NKINDS);
    sb_store_stats_get(st, &s);
    printf("  mix 4:3:2:1, %d series x %d s: %.3f B/sample (%zu bytes, %zu "
           "samples; 16 B/sample uncompressed)\n",
           cfg->series, cfg->seconds, (double)s.sample_bytes / (double)s.points,
           s.sample_bytes, s.points);
    sb_store_destroy(st);
    for (int k = 0; k < NKINDS; k++) {
        st = new_store();
        load(st, cfg, (enum kind)k);
        sb_store_stats_get(st, &s);
        printf("  %-12s %.3f B/sample\n", kind_names[k],
               (double)s.sample_bytes / (double)s.points);
        sb_store_destroy(st);
    }
}

/* The per-series append path alone: one series, in-order samples of the
 * mix's kinds in turn, through sb__series_put. Samples per second. */
static double series_append_rate(int samples)
{
    const sb_series_limits lim = {SB_CHUNK_MAX_SAMPLES, 3600 * SEC, SIZE_MAX};
    enum { NS = 100 };
    sb_series *s[NS];
    double v[NS], t0, el;
    size_t added = 0, dropped = 0;
    int per = samples / NS;

    for (int i = 0; i < NS; i++) {
        s[i] = sb__series_new("x", 2, (uint64_t)i, 0);
        if (s[i] == NULL)
            exit(1);
        v[i] = first_value(kind_of(i, NS));
    }
    t0 = now_s();
    for (int t = 0; t < per; t++)
        for (int i = 0; i < NS; i++) {
            if (sb__series_put(s[i], &lim, t * SEC, v[i], &added, &dropped) !=
                SB_OK)
                exit(1);
            v[i] = next_value(kind_of(i, NS), v[i]);
        }
    el = now_s() - t0;
    for (int i = 0; i < NS; i++)
        sb__series_free(s[i]);
    return (double)per * NS / el;
}

static void append_rates(const bench_cfg *cfg)
{
    double batch[16], series[16];
    size_t samples = (size_t)cfg->series * (size_t)cfg->seconds;

    for (int r = 0; r < cfg->runs; r++) {
        sb_store *st = new_store();

        batch[r] = (double)samples / load(st, cfg, NKINDS);
        sb_store_destroy(st);
        series[r] = series_append_rate((int)samples);
    }
    printf("append rate, one thread (median of %d runs)\n", cfg->runs);
    printf("  sb_store_write_batch, batches of %d: %.2f M samples/s\n",
           cfg->series, median(batch, cfg->runs) / 1e6);
    printf("  per-series append (sb__series_put): %.2f M samples/s\n",
           median(series, cfg->runs) / 1e6);
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {1000, 3600, 3};

    if (argc > 1 && strcmp(argv[1], "--smoke") == 0)
        cfg = (bench_cfg){20, 300, 1};
    else if (argc > 1) {
        fprintf(stderr, "usage: store_bench [--smoke]\n");
        return 2;
    }
    bytes_per_sample(&cfg);
    append_rates(&cfg);
    return 0;
}
