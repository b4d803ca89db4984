/*
 * query_bench.c - range-query time through the library (the work behind
 * GET /api/v1/query), in figures, not as a test.
 *
 *   query_bench [--smoke] [--runs N]
 *
 * Fills a store with SERIES series of one point per second over the last
 * hour (100 x 3,600 points; --smoke: 10 x 600), then times each query
 * shape RUNS times (default 15, at least 5) and prints the median, the
 * minimum and the maximum in milliseconds, both for the store query alone
 * (copy-out under the shard locks plus aggregation) and with the JSON
 * body encoded. bench/run.sh runs it as the `query` workload.
 */
#include "encode/query_json.h"
#include "scoreboard.h"
#include "store/aggregate.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEC      INT64_C(1000000000)
#define RUNS_MAX 1000

typedef struct shape {
    const char *what;
    int64_t step_ns;
    int agg;
    const char *group_by; /* one key or NULL */
} shape;

static const shape shapes[] = {
    {"step=60s agg=avg", 60 * SEC, SB_AGG_AVG, NULL},
    {"step=1s agg=avg", 1 * SEC, SB_AGG_AVG, NULL},
    {"step=60s agg=rate", 60 * SEC, SB_AGG_RATE, NULL},
    {"step=60s agg=p99", 60 * SEC, SB_AGG_P99, NULL},
    {"step=60s agg=sum group_by=zone", 60 * SEC, SB_AGG_SUM, "zone"},
    {"step=60s agg=p99 group_by=zone", 60 * SEC, SB_AGG_P99, "zone"},
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* One point per second per series over [end - points s, end). */
static int fill(sb_store *st, int nseries, int points, int64_t end)
{
    sb_sample *batch = calloc((size_t)nseries, sizeof *batch);
    sb_label *labels = calloc((size_t)nseries * 2, sizeof *labels);
    char(*host)[16] = calloc((size_t)nseries, sizeof *host);
    static const char *const zones[] = {"a", "b", "c", "d"};
    int rc = SB_ENOMEM;

    if (batch == NULL || labels == NULL || host == NULL)
        goto out;
    for (int i = 0; i < nseries; i++) {
        snprintf(host[i], sizeof host[i], "h%03d", i);
        labels[2 * i] = (sb_label){"host", host[i]};
        labels[2 * i + 1] = (sb_label){"zone", zones[i % 4]};
        batch[i] = (sb_sample){"bench_q", &labels[2 * i], 2, 0, 0};
    }
    for (int p = 0; p < points; p++) {
        for (int i = 0; i < nseries; i++) {
            batch[i].time_ns = end - (int64_t)(points - p) * SEC;
            batch[i].value = (double)((p * 7 + i * 13) % 1000) + p;
        }
        rc = sb_store_write_batch(st, batch, (size_t)nseries, NULL);
        if (rc != SB_OK)
            goto out;
    }
out:
    free(batch);
    free(labels);
    free(host);
    return rc;
}

/* Times one shape; encode also builds the JSON body. */
static int time_shape(sb_store *st, const shape *sh, int64_t from, int64_t to,
                      int runs, bool encode, double *ms, size_t *values)
{
    const char *names[] = {"bench_q"};
    const char *gb[] = {sh->group_by};
    sb_range_query q;

    memset(&q, 0, sizeof q);
    q.names = names;
    q.nnames = 1;
    q.from_ns = from;
    q.to_ns = to;
    q.step_ns = sh->step_ns;
    q.agg = sh->agg;
    q.group_by = gb;
    q.ngroup_by = sh->group_by != NULL;
    for (int r = 0; r < runs; r++) {
        sb_agg_result res;
        sb_buf body;
        double t0 = now_ms();
        int rc = sb__range_query(st, &q, &res);

        sb__buf_init(&body, SIZE_MAX);
        if (rc == SB_OK && encode)
            rc = sb__query_json(&res, from, to, q.step_ns, q.agg, &body);
        ms[r] = now_ms() - t0;
        *values = res.nvalues;
        sb__agg_result_free(&res);
        sb__buf_free(&body);
        if (rc != SB_OK)
            return rc;
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    return SB_OK;
}

int main(int argc, char **argv)
{
    int nseries = 100, points = 3600, runs = 15;
    static double ms[RUNS_MAX];
    sb_store_options o;
    sb_store *st;
    int64_t end;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            nseries = 10;
            points = 600;
            runs = 5;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *rest = NULL;
            long n = strtol(argv[++i], &rest, 10);

            runs = rest != NULL && *rest == '\0' && n > 0 && n <= RUNS_MAX
                       ? (int)n
                       : 0;
        } else {
            fprintf(stderr, "usage: query_bench [--smoke] [--runs N]\n");
            return 2;
        }
    }
    if (runs < 5 || runs > RUNS_MAX) {
        fprintf(stderr, "query_bench: --runs must be 5 to %d\n", RUNS_MAX);
        return 2;
    }

    sb_store_options_init(&o);
    o.retention_ns = 2 * 3600 * SEC;
    o.max_points_per_series = (size_t)points + 10;
    if (sb_store_create(&o, &st) != SB_OK)
        return 1;
    end = sb_time_now() / SEC * SEC;
    if (fill(st, nseries, points, end) != SB_OK) {
        fprintf(stderr, "query_bench: could not fill the store\n");
        sb_store_destroy(st);
        return 1;
    }
    printf("query_bench: %d series x %d points (1 s apart), %d runs each, "
           "milliseconds median [min-max]\n",
           nseries, points, runs);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        for (int encode = 0; encode <= 1; encode++) {
            size_t values = 0;
            int rc = time_shape(st, &shapes[i], end - (int64_t)points * SEC,
                                end - 1, runs, encode, ms, &values);

            if (rc != SB_OK) {
                fprintf(stderr, "query_bench: %s: %s\n", shapes[i].what,
                        sb_strerror(rc));
                sb_store_destroy(st);
                return 1;
            }
            printf("%-34s %-12s %8.3f [%.3f-%.3f] ms  %zu values\n",
                   shapes[i].what, encode ? "query+json" : "query",
                   ms[runs / 2], ms[0], ms[runs - 1], values);
        }
    }
    sb_store_destroy(st);
    return 0;
}
