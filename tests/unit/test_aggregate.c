/*
 * test_aggregate.c - bucketed range queries (store/aggregate.c).
 *
 * The core check compares sb__range_query with a naive reference on
 * random data: random series (two names, optional labels), random times
 * (some shared by several series, some on bucket edges), NaN samples and
 * counters with resets, for every aggregation, with and without group_by,
 * with random from/to/step (fractional steps included). The reference
 * keeps its own copy of the points and computes each bucket directly
 * from the definitions in aggregate.h, bucket by bucket, with no shared
 * code. Fixed cases pin bucket alignment, the from/to edges, fractional
 * steps, rate across resets and the caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scoreboard.h"
#include "store/aggregate.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC   INT64_C(1000000000)
#define MS    INT64_C(1000000)
#define MAXS  10 /* series */
#define MAXP  80 /* points per series */
#define SPAN  (300 * SEC)
#define NAGGS SB_AGG_KINDS

/* ------------------------------------------------------------ fixture */

typedef struct rseries {
    const char *name;
    sb_label labels[2];
    size_t nlabels;
    char hname[8]; /* value of label h */
    int64_t t[MAXP];
    double v[MAXP];
    size_t n;
} rseries;

typedef struct world {
    sb_store *st;
    int64_t base; /* a multiple of 60 s, 30 min ago */
    rseries s[MAXS];
    size_t n;
} world;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t rndn(size_t n)
{
    return (size_t)(rnd() % n);
}

static void world_open(world *w)
{
    sb_store_options o;

    memset(w, 0, sizeof *w);
    sb_store_options_init(&o);
    o.retention_ns = 3 * 3600 * SEC;
    assert_int_equal(sb_store_create(&o, &w->st), SB_OK);
    w->base = (sb_time_now() - 1800 * SEC) / (60 * SEC) * (60 * SEC);
}

static void write_one(world *w, rseries *s, int64_t t, double v)
{
    sb_sample smp = {s->name, s->labels, s->nlabels, v, t};

    assert_int_equal(sb_store_write(w->st, &smp), SB_OK);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Random distinct sorted times in [base, base + SPAN], drawn from shared
 * instants, bucket-edge instants and arbitrary nanoseconds. */
static size_t random_times(const world *w, int64_t *t, size_t want)
{
    size_t n = 0;

    for (size_t i = 0; i < want; i++) {
        switch (rndn(3)) {
        case 0: /* shared across series: whole 250 ms ticks */
            t[n++] = w->base + (int64_t)rndn(1200) * 250 * MS;
            break;
        case 1: /* on whole seconds, i.e. on many bucket edges */
            t[n++] = w->base + (int64_t)rndn(300) * SEC;
            break;
        default:
            t[n++] = w->base + (int64_t)(rnd() % (uint64_t)SPAN);
        }
    }
    qsort(t, n, sizeof *t, cmp_i64);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (o == 0 || t[o - 1] != t[i])
            t[o++] = t[i];
    return o;
}

static double random_value(bool counter, double *ctr)
{
    if (rndn(20) == 0)
        return NAN;
    if (!counter)
        return (double)(int64_t)(rnd() % 2001) / 8.0 - 100.0;
    if (rndn(15) == 0)
        *ctr = (double)rndn(5); /* reset */
    else
        *ctr += (double)rndn(50);
    return *ctr;
}

static void random_world(world *w)
{
    static const char *const gvals[] = {"x", "y", "z"};

    w->n = 1 + rndn(MAXS);
    for (size_t i = 0; i < w->n; i++) {
        rseries *s = &w->s[i];
        bool counter = rndn(2) == 0;
        double ctr = 0;
        snprintf(s->hname, sizeof s->hname, "h%zu", i);
        s->name = rndn(2) ? "a" : "b";
        s->nlabels = 0;
        if (rndn(4) != 0)
            s->labels[s->nlabels++] = (sb_label){"g", gvals[rndn(3)]};
        s->labels[s->nlabels++] = (sb_label){"h", s->hname}; /* unique series */
        s->n = random_times(w, s->t, 1 + rndn(MAXP));
        for (size_t j = 0; j < s->n; j++) {
            s->v[j] = random_value(counter, &ctr);
            write_one(w, s, s->t[j], s->v[j]);
        }
    }
}

static void world_close(world *w)
{
    sb_store_destroy(w->st);
}

/* ------------------------------------------------------------ reference */

typedef struct rvalue {
    int64_t t;
    double v;
} rvalue;

typedef struct rout {
    char key[128]; /* name|g=..|h=.. as text, for comparison */
    rvalue vals[4096];
    size_t n;
} rout;

static int64_t ref_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static const char *label(const rseries *s, const char *k)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i].key, k) == 0)
            return s->labels[i].value;
    return "";
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Rate of series s in bucket k, per the definition; false if undefined. */
static bool ref_rate(const rseries *s, const sb_range_query *q, int64_t k,
                     double *out)
{
    bool have = false;
    double prev = 0, inc = 0;
    size_t pairs = 0;

    for (size_t j = 0; j < s->n; j++) /* reference: last of bucket k-1 */
        if (ref_floor_div(s->t[j], q->step_ns) == k - 1 && !isnan(s->v[j])) {
            prev = s->v[j];
            have = true;
        }
    for (size_t j = 0; j < s->n; j++) {
        if (s->t[j] < q->from_ns || s->t[j] > q->to_ns ||
            ref_floor_div(s->t[j], q->step_ns) != k || isnan(s->v[j]))
            continue;
        if (have) {
            inc += s->v[j] >= prev ? s->v[j] - prev : s->v[j];
            pairs++;
        }
        prev = s->v[j];
        have = true;
    }
    *out = inc / ((double)q->step_ns / 1e9);
    return pairs > 0;
}

/* The aggregate of bucket k over the series members[0..m). */
static bool ref_bucket(const world *w, const size_t *members, size_t m,
                       const sb_range_query *q, int64_t k, double *out)
{
    double vals[MAXS * MAXP], sum = 0, mn = 0, mx = 0, r;
    size_t n = 0, cnt = 0;
    bool any = false, has_last = false;
    int64_t last_t = 0;
    double last_v = 0;

    if (q->agg == SB_AGG_RATE) {
        *out = 0;
        for (size_t i = 0; i < m; i++)
            if (ref_rate(&w->s[members[i]], q, k, &r)) {
                *out = any ? *out + r : r;
                any = true;
            }
        return any;
    }
    for (size_t i = 0; i < m; i++) {
        const rseries *s = &w->s[members[i]];

        for (size_t j = 0; j < s->n; j++) {
            double v = s->v[j];

            if (s->t[j] < q->from_ns || s->t[j] > q->to_ns ||
                ref_floor_div(s->t[j], q->step_ns) != k)
                continue;
            cnt++;
            if (!has_last || s->t[j] > last_t ||
                (s->t[j] == last_t && !isnan(v) &&
                 (isnan(last_v) || v > last_v))) {
                last_t = s->t[j];
                last_v = v;
                has_last = true;
            }
            if (isnan(v))
                continue;
            vals[n++] = v;
        }
    }
    if (q->agg == SB_AGG_COUNT || q->agg == SB_AGG_LAST) {
        *out = q->agg == SB_AGG_COUNT ? (double)cnt : last_v;
        return cnt > 0;
    }
    if (n == 0)
        return false;
    qsort(vals, n, sizeof *vals, cmp_d);
    mn = vals[0];
    mx = vals[n - 1];
    for (size_t i = 0; i < n; i++)
        sum += vals[i];
    switch (q->agg) {
    case SB_AGG_AVG:
        *out = sum / (double)n;
        break;
    case SB_AGG_SUM:
        *out = sum;
        break;
    case SB_AGG_MIN:
        *out = mn;
        break;
    case SB_AGG_MAX:
        *out = mx;
        break;
    default: {
        static const double qs[] = {0.5, 0.9, 0.95, 0.99};
        double qq = qs[q->agg - SB_AGG_P50];
        /* nearest rank ceil(q*n), computed in integers (per mille) */
        size_t pm = (size_t)llround(qq * 1000);
        size_t rank = (pm * n + 999) / 1000;

        *out = vals[rank - 1];
    }
    }
    return true;
}

/* Text key of a group or series, for comparing with the output. */
static void ref_key(const world *w, size_t si, const sb_range_query *q,
                    char *out, size_t n, const char *name)
{
    const rseries *s = &w->s[si];
    size_t o;

    o = (size_t)snprintf(out, n, "%s", name);
    if (q->ngroup_by == 0) {
        for (size_t i = 0; i < s->nlabels; i++)
            o += (size_t)snprintf(out + o, n - o, "|%s=%s", s->labels[i].key,
                                  s->labels[i].value);
        return;
    }
    for (size_t i = 0; i < q->ngroup_by; i++)
        if (strcmp(q->group_by[i], "__name__") != 0)
            o += (size_t)snprintf(out + o, n - o, "|%s=%s", q->group_by[i],
                                  label(s, q->group_by[i]));
}

/* Whether series a and b fall in the same group. */
static bool same_group(const world *w, size_t a, size_t b,
                       const sb_range_query *q)
{
    if (q->ngroup_by == 0)
        return a == b;
    for (size_t i = 0; i < q->ngroup_by; i++) {
        const char *k = q->group_by[i];
        const char *x =
            strcmp(k, "__name__") == 0 ? w->s[a].name : label(&w->s[a], k);
        const char *y =
            strcmp(k, "__name__") == 0 ? w->s[b].name : label(&w->s[b], k);

        if (strcmp(x, y) != 0)
            return false;
    }
    return true;
}

/* The distinct buckets (ascending) holding a sample of the members
 * within [from, to]: every other bucket is empty, so undefined. */
static size_t bucket_list(const world *w, const size_t *members, size_t m,
                          const sb_range_query *q, int64_t *ks)
{
    size_t n = 0, o = 0;

    for (size_t i = 0; i < m; i++) {
        const rseries *s = &w->s[members[i]];

        for (size_t j = 0; j < s->n; j++)
            if (s->t[j] >= q->from_ns && s->t[j] <= q->to_ns)
                ks[n++] = ref_floor_div(s->t[j], q->step_ns);
    }
    qsort(ks, n, sizeof *ks, cmp_i64);
    for (size_t i = 0; i < n; i++)
        if (o == 0 || ks[o - 1] != ks[i])
            ks[o++] = ks[i];
    return o;
}

static bool has_sample_in(const rseries *s, const sb_range_query *q)
{
    for (size_t j = 0; j < s->n; j++)
        if (s->t[j] >= q->from_ns && s->t[j] <= q->to_ns)
            return true;
    return false;
}

/* Builds the expected output (unordered) into outs; returns its size. */
static size_t reference(const world *w, const sb_range_query *q, rout *outs)
{
    bool done[MAXS] = {false};
    size_t nout = 0;

    for (size_t i = 0; i < w->n; i++) {
        size_t members[MAXS], m = 0;
        const char *name = NULL;
        rout *o = &outs[nout];
        int64_t kmin = ref_floor_div(q->from_ns, q->step_ns);
        int64_t kmax = ref_floor_div(q->to_ns, q->step_ns);
        static int64_t ks[MAXS * MAXP];
        size_t nk;
        double v;

        if (done[i])
            continue;
        for (size_t j = i; j < w->n; j++)
            if (!done[j] && same_group(w, i, j, q)) {
                members[m++] = j;
                done[j] = true;
                if (has_sample_in(&w->s[j], q)) {
                    if (name == NULL)
                        name = w->s[j].name;
                    else if (strcmp(w->s[j].name, name) != 0)
                        name = "";
                }
            }
        ref_key(w, i, q, o->key, sizeof o->key, name ? name : "");
        o->n = 0;
        nk = bucket_list(w, members, m, q, ks);
        for (size_t x = 0; x < nk; x++) {
            int64_t k = ks[x];

            assert_true(k >= kmin && k <= kmax);
            if (ref_bucket(w, members, m, q, k, &v)) {
                assert_true(o->n < 4096);
                o->vals[o->n++] = (rvalue){k * q->step_ns, v};
            }
        }
        if (o->n > 0)
            nout++;
    }
    return nout;
}

/* ------------------------------------------------------------ compare */

static void out_key(const sb_agg_series *s, char *out, size_t n)
{
    const char *p = s->key;
    size_t o = (size_t)snprintf(out, n, "%s", p);

    p += strlen(p) + 1;
    for (size_t i = 0; i < s->nlabels; i++) {
        const char *v = p + strlen(p) + 1;

        o += (size_t)snprintf(out + o, n - o, "|%s=%s", p, v);
        p = v + strlen(v) + 1;
    }
}

static bool close_enough(double a, double b, bool exact)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (a == b)
        return true;
    if (exact || isinf(a) || isinf(b))
        return false;
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)) + 1e-9;
}

/* With AGG_DEBUG set: both value lists and the whole world, to debug a
 * mismatch. */
static void dump(const world *w, const sb_agg_series *s, const rout *o)
{
    for (size_t j = 0; j < s->nvals; j++)
        fprintf(stderr, "got  %lld %.17g\n",
                (long long)(s->vals[j].t_ns - w->base), s->vals[j].v);
    for (size_t j = 0; j < o->n; j++)
        fprintf(stderr, "want %lld %.17g\n",
                (long long)(o->vals[j].t - w->base), o->vals[j].v);
    for (size_t x = 0; x < w->n; x++) {
        fprintf(stderr, "series %zu %s g=%s\n", x, w->s[x].name,
                label(&w->s[x], "g"));
        for (size_t j = 0; j < w->s[x].n; j++)
            fprintf(stderr, "  %lld %.17g\n",
                    (long long)(w->s[x].t[j] - w->base), w->s[x].v[j]);
    }
}

static void compare(const world *w, const sb_range_query *q,
                    const sb_agg_result *res, const char *what)
{
    static rout outs[MAXS];
    size_t nout = reference(w, q, outs), total = 0;
    bool exact =
        q->agg != SB_AGG_AVG && q->agg != SB_AGG_SUM && q->agg != SB_AGG_RATE;
    char key[128];

    if (res->nseries != nout)
        fail_msg("%s: %zu series, want %zu", what, res->nseries, nout);
    for (size_t i = 0; i < res->nseries; i++) {
        const sb_agg_series *s = &res->series[i];
        const rout *o = NULL;

        if (i > 0) { /* ordered by key bytes */
            const sb_agg_series *p = &res->series[i - 1];
            size_t n = p->key_len < s->key_len ? p->key_len : s->key_len;
            int c = memcmp(p->key, s->key, n);

            assert_true(c < 0 || (c == 0 && p->key_len < s->key_len));
        }
        out_key(s, key, sizeof key);
        for (size_t j = 0; j < nout; j++)
            if (strcmp(outs[j].key, key) == 0)
                o = &outs[j];
        if (o == NULL)
            fail_msg("%s: unexpected series %s", what, key);
        if (s->nvals != o->n && getenv("AGG_DEBUG") != NULL)
            dump(w, s, o);
        if (s->nvals != o->n)
            fail_msg("%s: %s has %zu values, want %zu", what, key, s->nvals,
                     o->n);
        for (size_t j = 0; j < s->nvals; j++) {
            if (s->vals[j].t_ns != o->vals[j].t ||
                !close_enough(s->vals[j].v, o->vals[j].v, exact))
                fail_msg("%s: %s value %zu: (%lld, %.17g), want (%lld, %.17g)",
                         what, key, j, (long long)s->vals[j].t_ns, s->vals[j].v,
                         (long long)o->vals[j].t, o->vals[j].v);
        }
        total += s->nvals;
    }
    assert_int_equal(res->nvalues, total);
}

/* ------------------------------------------------------------ tests */

static void random_query(const world *w, sb_range_query *q,
                         const char *const *gb, size_t ngb)
{
    static const int64_t steps[] = {100 * MS,  250 * MS,      1 * SEC,
                                    1500 * MS, 7 * SEC,       10 * SEC,
                                    60 * SEC,  1234567 * 1000};
    int64_t a =
        w->base - 10 * SEC + (int64_t)(rnd() % (uint64_t)(SPAN + 20 * SEC));
    int64_t b =
        w->base - 10 * SEC + (int64_t)(rnd() % (uint64_t)(SPAN + 20 * SEC));

    memset(q, 0, sizeof *q);
    if (rndn(4) == 0) { /* the whole span, edges on bucket starts */
        a = w->base;
        b = w->base + SPAN;
    }
    q->from_ns = a < b ? a : b;
    q->to_ns = a < b ? b : a;
    q->step_ns = steps[rndn(sizeof steps / sizeof steps[0])];
    q->group_by = gb;
    q->ngroup_by = ngb;
}

static void test_aggregate_matches_reference_on_random_data(void **state)
{
    static const char *const groupings[][2] = {
        {NULL, NULL},      {"g", NULL},       {"__name__", NULL},
        {"__name__", "g"}, {"missing", NULL}, {"g", "h"}};
    static const size_t ngroupings[] = {0, 1, 1, 2, 1, 2};
    char what[160];

    (void)state;
    for (int round = 0; round < 150; round++) {
        world w;

        world_open(&w);
        random_world(&w);
        for (size_t g = 0; g < 6; g++) {
            for (int agg = 0; agg < NAGGS; agg++) {
                sb_range_query q;
                sb_agg_result res;

                random_query(&w, &q, groupings[g], ngroupings[g]);
                q.agg = agg;
                snprintf(
                    what, sizeof what,
                    "round %d agg %s group %zu step %lld from %lld to %lld",
                    round, sb__agg_names[agg], g, (long long)q.step_ns,
                    (long long)(q.from_ns - w.base),
                    (long long)(q.to_ns - w.base));
                assert_int_equal(sb__range_query(w.st, &q, &res), SB_OK);
                compare(&w, &q, &res, what);
                sb__agg_result_free(&res);
            }
        }
        world_close(&w);
    }
}

/* One series "s" with value i at base + i seconds, i = 0..29. */
static void ramp_world(world *w)
{
    rseries *s = &w->s[0];

    world_open(w);
    s->name = "s";
    s->nlabels = 0;
    for (int i = 0; i < 30; i++)
        write_one(w, s, w->base + i * SEC, (double)i);
}

static void run(world *w, sb_range_query *q, sb_agg_result *res)
{
    assert_int_equal(sb__range_query(w->st, q, res), SB_OK);
}

static void test_aggregate_bucket_alignment_and_edges(void **state)
{
    sb_range_query q = {0};
    sb_agg_result res;
    world w;

    (void)state;
    ramp_world(&w);
    q.from_ns = w.base + 5 * SEC; /* mid-bucket: 0..4 do not count */
    q.to_ns = w.base + 25 * SEC;  /* inclusive: 25 counts, 26.. do not */
    q.step_ns = 10 * SEC;
    q.agg = SB_AGG_AVG;
    run(&w, &q, &res);
    assert_int_equal(res.nseries, 1);
    assert_int_equal(res.series[0].nvals, 3);
    assert_int_equal(res.series[0].vals[0].t_ns, w.base);
    assert_true(res.series[0].vals[0].v == 7.0); /* 5..9 */
    assert_int_equal(res.series[0].vals[1].t_ns, w.base + 10 * SEC);
    assert_true(res.series[0].vals[1].v == 14.5); /* 10..19 */
    assert_int_equal(res.series[0].vals[2].t_ns, w.base + 20 * SEC);
    assert_true(res.series[0].vals[2].v == 22.5); /* 20..25 */
    sb__agg_result_free(&res);

    q.agg = SB_AGG_COUNT;
    run(&w, &q, &res);
    assert_true(res.series[0].vals[0].v == 5 && res.series[0].vals[1].v == 10 &&
                res.series[0].vals[2].v == 6);
    sb__agg_result_free(&res);

    /* from == to on a sample: one bucket with that sample */
    q.from_ns = q.to_ns = w.base + 12 * SEC;
    q.agg = SB_AGG_LAST;
    run(&w, &q, &res);
    assert_int_equal(res.series[0].nvals, 1);
    assert_int_equal(res.series[0].vals[0].t_ns, w.base + 10 * SEC);
    assert_true(res.series[0].vals[0].v == 12.0);
    sb__agg_result_free(&res);

    /* a range with no samples: no series at all */
    q.from_ns = w.base + 40 * SEC;
    q.to_ns = w.base + 50 * SEC;
    run(&w, &q, &res);
    assert_int_equal(res.nseries, 0);
    sb__agg_result_free(&res);
    world_close(&w);
}

static void test_aggregate_fractional_step(void **state)
{
    sb_range_query q = {0};
    sb_agg_result res;
    world w;

    (void)state;
    ramp_world(&w); /* base is a multiple of 60 s, so of 1.5 s too */
    q.from_ns = w.base;
    q.to_ns = w.base + 5 * SEC;
    q.step_ns = 1500 * MS;
    q.agg = SB_AGG_SUM;
    run(&w, &q, &res);
    /* buckets [0,1.5) {0,1}, [1.5,3) {2}, [3,4.5) {3,4}, [4.5,6) {5} */
    assert_int_equal(res.series[0].nvals, 4);
    assert_int_equal(res.series[0].vals[1].t_ns, w.base + 1500 * MS);
    assert_int_equal(res.series[0].vals[3].t_ns, w.base + 4500 * MS);
    assert_true(res.series[0].vals[0].v == 1 && res.series[0].vals[1].v == 2 &&
                res.series[0].vals[2].v == 7 && res.series[0].vals[3].v == 5);
    sb__agg_result_free(&res);
    world_close(&w);
}

static void test_aggregate_rate_across_resets(void **state)
{
    static const double v[] = {100, 110, 120, 5, 15, 15};
    rseries *s;
    sb_range_query q = {0};
    sb_agg_result res;
    world w;

    (void)state;
    world_open(&w);
    s = &w.s[0];
    s->name = "c";
    /* bucket 0: 100 at 9 s; bucket 1: 110, 120, 5 (reset), 15, 15 */
    write_one(&w, s, w.base + 9 * SEC, v[0]);
    for (int i = 1; i < 6; i++)
        write_one(&w, s, w.base + (10 + i) * SEC, v[i]);
    q.from_ns = w.base + 10 * SEC; /* the reference at 9 s is before from */
    q.to_ns = w.base + 19 * SEC;
    q.step_ns = 10 * SEC;
    q.agg = SB_AGG_RATE;
    run(&w, &q, &res);
    assert_int_equal(res.series[0].nvals, 1);
    /* 10 + 10 + 5 (reset: the new value) + 10 + 0 = 35 over 10 s */
    assert_true(res.series[0].vals[0].v == 3.5);
    sb__agg_result_free(&res);

    /* one sample and no reference: undefined, the bucket is left out */
    q.from_ns = w.base;
    q.to_ns = w.base + 9 * SEC;
    run(&w, &q, &res);
    assert_int_equal(res.nseries, 0);
    sb__agg_result_free(&res);
    world_close(&w);
}

static void test_aggregate_nan_rules(void **state)
{
    rseries *s;
    sb_range_query q = {0};
    sb_agg_result res;
    world w;

    (void)state;
    world_open(&w);
    s = &w.s[0];
    s->name = "n";
    write_one(&w, s, w.base + 1 * SEC, NAN);
    write_one(&w, s, w.base + 2 * SEC, NAN);
    q.from_ns = w.base;
    q.to_ns = w.base + 9 * SEC;
    q.step_ns = 10 * SEC;
    for (int agg = 0; agg < NAGGS; agg++) {
        q.agg = agg;
        run(&w, &q, &res);
        if (agg == SB_AGG_COUNT) {
            assert_true(res.series[0].vals[0].v == 2);
        } else if (agg == SB_AGG_LAST) {
            assert_true(isnan(res.series[0].vals[0].v));
        } else if (res.nseries != 0) {
            fail_msg("%s of NaN only gave a value", sb__agg_names[agg]);
        }
        sb__agg_result_free(&res);
    }
    world_close(&w);
}

static void test_aggregate_caps(void **state)
{
    sb_range_query q = {0};
    sb_agg_result res;
    world w;

    (void)state;
    ramp_world(&w);
    q.from_ns = w.base;
    q.to_ns = w.base + 29 * SEC;
    q.step_ns = SEC;
    q.agg = SB_AGG_MAX;
    q.max_samples = 30;
    q.max_values = 30;
    run(&w, &q, &res);
    assert_int_equal(res.nvalues, 30);
    sb__agg_result_free(&res);

    q.max_samples = 29;
    assert_int_equal(sb__range_query(w.st, &q, &res), SB_ETOOLARGE);
    sb__agg_result_free(&res);
    q.max_samples = 0;
    q.max_values = 29;
    assert_int_equal(sb__range_query(w.st, &q, &res), SB_ETOOLARGE);
    sb__agg_result_free(&res);
    q.step_ns = 2 * SEC; /* 15 values fit */
    run(&w, &q, &res);
    assert_int_equal(res.nvalues, 15);
    sb__agg_result_free(&res);
    world_close(&w);
}

static void test_aggregate_rejects_bad_queries(void **state)
{
    static const char *const unsorted[] = {"b", "a"};
    static const char *const dup[] = {"a", "a"};
    sb_range_query q = {0};
    sb_agg_result res;
    world w;

    (void)state;
    ramp_world(&w);
    q.from_ns = w.base;
    q.to_ns = w.base + SEC;
    q.step_ns = 0;
    assert_int_equal(sb__range_query(w.st, &q, &res), SB_EINVAL);
    q.step_ns = SEC;
    q.agg = SB_AGG_KINDS;
    assert_int_equal(sb__range_query(w.st, &q, &res), SB_EINVAL);
    q.agg = SB_AGG_AVG;
    q.from_ns = q.to_ns + 1;
    assert_int_equal(sb__range_query(w.st, &q, &res), SB_EINVAL);
    q.from_ns = w.base;
    q.group_by = unsorted;
    q.ngroup_by = 2;
    assert_int_equal(sb__range_query(w.st, &q, &res), SB_EINVAL);
    q.group_by = dup;
    assert_int_equal(sb__range_query(w.st, &q, &res), SB_EINVAL);
    sb__agg_result_free(&res);

    /* extreme bounds and a 1 ns step: no overflow, every point found */
    q.ngroup_by = 0;
    q.from_ns = INT64_MIN;
    q.to_ns = INT64_MAX;
    q.step_ns = 1;
    q.agg = SB_AGG_RATE;
    run(&w, &q, &res);
    assert_int_equal(res.nseries, 0); /* one sample per bucket: no rate */
    sb__agg_result_free(&res);
    q.agg = SB_AGG_COUNT;
    run(&w, &q, &res);
    assert_int_equal(res.nvalues, 30);
    sb__agg_result_free(&res);
    q.step_ns = INT64_MAX;
    run(&w, &q, &res);
    assert_int_equal(res.nvalues, 1); /* all in bucket 0 */
    assert_true(res.series[0].vals[0].v == 30);
    sb__agg_result_free(&res);
    world_close(&w);
}

/* A step so large that the bucket of a sample from 1800 starts before
 * 1677-09-21: reported at the earliest time, no overflow (UBSan). */
static void test_aggregate_first_bucket_before_int64_min(void **state)
{
    static const int kinds[] = {SB_AGG_AVG, SB_AGG_RATE, SB_AGG_P50,
                                SB_AGG_LAST};
    const int64_t t1800 = INT64_C(-5364662400) * SEC;
    const char *gb[] = {"__name__"};
    sb_store_options o;
    sb_range_query q = {0};
    sb_agg_result res;
    sb_sample smp[] = {{"old", NULL, 0, 1, t1800},
                       {"old", NULL, 0, 3, t1800 + SEC},
                       {"old", NULL, 0, 7, 0}};
    sb_store *st = NULL;

    (void)state;
    sb_store_options_init(&o);
    o.retention_ns = INT64_C(250) * 366 * 86400 * SEC;
    assert_int_equal(sb_store_create(&o, &st), SB_OK);
    assert_int_equal(sb_store_write_batch(st, smp, 3, NULL), SB_OK);
    q.from_ns = t1800;
    q.to_ns = SEC;
    q.step_ns = INT64_C(5000000000) * SEC; /* t1800 is in bucket -2 */
    for (size_t g = 0; g < 2; g++) {
        q.group_by = g ? gb : NULL;
        q.ngroup_by = g;
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            q.agg = kinds[i];
            assert_int_equal(sb__range_query(st, &q, &res), SB_OK);
            assert_int_equal(res.nseries, 1);
            /* bucket -2 (clamped) holds the two old samples, bucket -1
             * [-5e18, 0) nothing, bucket 0 the sample at 0 */
            assert_int_equal(res.series[0].nvals,
                             kinds[i] == SB_AGG_RATE ? 1 : 2);
            assert_true(res.series[0].vals[0].t_ns == INT64_MIN);
            if (kinds[i] == SB_AGG_AVG)
                assert_true(res.series[0].vals[0].v == 2);
            if (kinds[i] == SB_AGG_RATE)
                assert_true(res.series[0].vals[0].v == 2.0 / 5e9);
            sb__agg_result_free(&res);
        }
    }
    sb_store_destroy(st);
}

static void test_aggregate_names_and_matchers_filter(void **state)
{
    const sb_label l1[] = {{"k", "1"}}, l2[] = {{"k", "2"}};
    const char *names[] = {"x"};
    sb_matcher m = {"k", "2", SB_MATCH_NE};
    sb_matchset ms;
    sb_range_query q = {0};
    sb_agg_result res;
    world w;

    (void)state;
    world_open(&w);
    w.s[0] = (rseries){.name = "x", .labels = {l1[0]}, .nlabels = 1};
    w.s[1] = (rseries){.name = "x", .labels = {l2[0]}, .nlabels = 1};
    w.s[2] = (rseries){.name = "y", .labels = {l1[0]}, .nlabels = 1};
    for (int i = 0; i < 3; i++)
        write_one(&w, &w.s[i], w.base, 1);
    assert_int_equal(sb__matchset_compile(&ms, &m, 1, NULL, 0), SB_OK);
    q.from_ns = w.base;
    q.to_ns = w.base;
    q.step_ns = SEC;
    q.names = names;
    q.nnames = 1;
    q.ms = &ms;
    run(&w, &q, &res);
    assert_int_equal(res.nseries, 1);
    assert_string_equal(res.series[0].key, "x");
    assert_string_equal(res.series[0].key + 4, "1");
    sb__agg_result_free(&res);
    sb__matchset_free(&ms);
    world_close(&w);
}

/* ------------------------------------------------------------ threads */

typedef struct race {
    sb_store *st;
    int64_t base;
    int id;
    size_t values; /* readers: values of the last query */
    int rc;
} race;

/* Writes 20 series x 300 points, one batch per point time. */
static void *race_writer(void *arg)
{
    race *r = arg;
    char host[20][8];
    sb_label l[20];
    sb_sample s[20];

    for (int i = 0; i < 20; i++) {
        snprintf(host[i], sizeof host[i], "w%dh%d", r->id, i);
        l[i] = (sb_label){"host", host[i]};
        s[i] = (sb_sample){"race", &l[i], 1, 0, 0};
    }
    for (int p = 0; p < 300 && r->rc == SB_OK; p++) {
        for (int i = 0; i < 20; i++) {
            s[i].time_ns = r->base + p * SEC;
            s[i].value = p;
        }
        r->rc = sb_store_write_batch(r->st, s, 20, NULL);
    }
    return NULL;
}

/* Queries while the writers write: grouped and plain, with a regex. */
static void *race_reader(void *arg)
{
    race *r = arg;
    static const char *const gb[] = {"host"};
    sb_matcher m = {"host", "w[0-9]h1.*", SB_MATCH_RE};
    sb_matchset ms;
    sb_range_query q = {0};

    r->rc = sb__matchset_compile(&ms, &m, 1, NULL, 0);
    q.from_ns = r->base;
    q.to_ns = r->base + 299 * SEC;
    q.step_ns = 10 * SEC;
    q.ms = &ms;
    for (int i = 0; i < 200 && r->rc == SB_OK; i++) {
        sb_agg_result res;

        q.agg = i % SB_AGG_KINDS;
        q.group_by = i % 2 ? gb : NULL;
        q.ngroup_by = i % 2;
        r->rc = sb__range_query(r->st, &q, &res);
        r->values = res.nvalues;
        sb__agg_result_free(&res);
    }
    sb__matchset_free(&ms);
    return NULL;
}

/* Readers and writers at once (run under TSan by make test); once the
 * writers are done a query sees every point. */
static void test_aggregate_concurrent_with_writers(void **state)
{
    pthread_t th[4];
    race r[4];
    world w;

    (void)state;
    world_open(&w);
    for (int i = 0; i < 4; i++) {
        r[i] = (race){w.st, w.base, i, 0, SB_OK};
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i < 2 ? race_writer : race_reader,
                                        &r[i]),
                         0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(r[i].rc, SB_OK);
    }
    /* hosts w0h1, w0h10..19, w1h1, w1h10..19: 22 series x 30 buckets */
    r[2].rc = SB_OK;
    race_reader(&r[2]);
    assert_int_equal(r[2].rc, SB_OK);
    assert_int_equal(r[2].values, 22 * 30);
    world_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_matches_reference_on_random_data),
        cmocka_unit_test(test_aggregate_bucket_alignment_and_edges),
        cmocka_unit_test(test_aggregate_fractional_step),
        cmocka_unit_test(test_aggregate_rate_across_resets),
        cmocka_unit_test(test_aggregate_nan_rules),
        cmocka_unit_test(test_aggregate_caps),
        cmocka_unit_test(test_aggregate_rejects_bad_queries),
        cmocka_unit_test(test_aggregate_first_bucket_before_int64_min),
        cmocka_unit_test(test_aggregate_names_and_matchers_filter),
        cmocka_unit_test(test_aggregate_concurrent_with_writers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
