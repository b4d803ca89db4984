/*
 * aggregate.c - bucketed range queries (see aggregate.h for the
 * definitions every aggregation follows).
 *
 * The scan (scan.h) hands over one series at a time, its points oldest
 * first, with no lock held. A bucket iterator walks those points once,
 * yielding each bucket's slice and the reference sample rate needs.
 *
 * Without group_by each bucket is reduced on the spot and the series'
 * values are kept: O(points) per series, no global merge.
 *
 * With group_by each series' buckets are reduced to partial states (one
 * number pair per bucket, see struct partial) appended to its group; at
 * the end each group's partials are sorted by bucket and combined.
 * Percentiles need every sample, so for them a group collects (bucket,
 * value) pairs instead: when the group's buckets are dense they are
 * counting-sorted by bucket and each bucket's rank is selected in linear
 * time, otherwise they are sorted by bucket then value and the rank read
 * directly. Either way the cost is at most O(m log m) in the group's m
 * partials or samples, whatever the number of series, and m is bounded
 * by max_samples.
 */
#include "store/aggregate.h"

#include "common/buf.h"
#include "common/hash.h"
#include "store/scan.h"
#include "store/store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_SEC 1e9

const char *const sb__agg_names[SB_AGG_KINDS] = {"avg",   "min",  "max",  "sum",
                                                 "count", "last", "rate", "p50",
                                                 "p90",   "p95",  "p99"};

/* Per mille of each percentile kind (SB_AGG_P50 onwards). */
static const unsigned pct_permille[] = {500, 900, 950, 990};

int sb__agg_lookup(const char *name)
{
    for (int i = 0; i < SB_AGG_KINDS; i++)
        if (strcmp(name, sb__agg_names[i]) == 0)
            return i;
    return -1;
}

static bool is_pct(int agg)
{
    return agg >= SB_AGG_P50 && agg <= SB_AGG_P99;
}

int64_t sb__floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* ------------------------------------------------------------ buckets */

/* The start of bucket k; the first bucket of a huge step may start before
 * the earliest time int64_t nanoseconds hold, and is then reported at
 * that time. */
static int64_t bucket_start(int64_t k, int64_t step)
{
    int64_t start;

    return __builtin_mul_overflow(k, step, &start) ? INT64_MIN : start;
}

typedef struct bucket {
    int64_t k, start;
    const sb_point *p; /* the bucket's samples within [from, to] */
    size_t n;
    bool has_ref; /* the last non-NaN sample of bucket k-1 */
    double ref;
} bucket;

typedef struct bucket_iter {
    const sb_point *pts;
    size_t n, i;
    int64_t from, to, step;
    bool has_last; /* the newest non-NaN sample so far, and its bucket */
    int64_t last_k;
    double last_v;
} bucket_iter;

static void iter_init(bucket_iter *it, const sb_range_query *q,
                      const sb_point *pts, size_t n)
{
    memset(it, 0, sizeof *it);
    it->pts = pts;
    it->n = n;
    it->from = q->from_ns;
    it->to = q->to_ns;
    it->step = q->step_ns;
}

/* Records the newest non-NaN sample of p[0..n), which lies in bucket k
 * (k < 0 when the bucket is to be computed). */
static void note_last(bucket_iter *it, const sb_point *p, size_t n, int64_t k,
                      bool known_k)
{
    for (size_t j = n; j-- > 0;) {
        if (isnan(p[j].v))
            continue;
        it->has_last = true;
        it->last_v = p[j].v;
        it->last_k = known_k ? k : sb__floor_div(p[j].t, it->step);
        return;
    }
}

/* The next non-empty bucket, or false at the end. */
static bool next_bucket(bucket_iter *it, bucket *b)
{
    size_t lo = it->i, cut;
    int64_t end;

    while (it->i < it->n && it->pts[it->i].t < it->from)
        it->i++;
    if (it->i >= it->n || it->pts[it->i].t > it->to)
        return false;

    b->k = sb__floor_div(it->pts[it->i].t, it->step);
    b->start = bucket_start(b->k, it->step);
    /* Samples before from: those of earlier buckets may be bucket k's
     * reference; those of bucket k itself are not counted in it, but one
     * of them may be the reference of bucket k+1. */
    for (cut = lo; cut < it->i && it->pts[cut].t < b->start; cut++)
        ;
    note_last(it, it->pts + lo, cut - lo, 0, false);
    b->has_ref = it->has_last && it->last_k + 1 == b->k;
    b->ref = it->last_v;
    note_last(it, it->pts + cut, it->i - cut, b->k, true);
    /* From the next bucket's start: b->start may be clamped. */
    if (__builtin_add_overflow(b->k, 1, &end) ||
        __builtin_mul_overflow(end, it->step, &end) || --end > it->to)
        end = it->to;
    lo = it->i;
    while (it->i < it->n && it->pts[it->i].t <= end)
        it->i++;
    b->p = it->pts + lo;
    b->n = it->i - lo;
    note_last(it, b->p, b->n, b->k, true);
    return true;
}

/* ------------------------------------------------------------ reducers */

static void swapd(double *a, double *b)
{
    double t = *a;

    *a = *b;
    *b = t;
}

/* The k-th smallest (from 0) of v[0..n), no NaN; reorders v. */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;

    while (hi - lo > 1) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t lt = lo, i = lo, gt = hi;

        /* [lo,lt) < pivot, [lt,i) == pivot, [gt,hi) > pivot */
        while (i < gt) {
            if (v[i] < pivot)
                swapd(&v[lt++], &v[i++]);
            else if (v[i] > pivot)
                swapd(&v[i], &v[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k < gt)
            return pivot;
        else
            lo = gt;
    }
    return v[k];
}

/* Nearest rank ceil(q*n), as a 0-based index, for a percentile kind. */
static size_t pct_index(int agg, size_t n)
{
    unsigned pm = pct_permille[agg - SB_AGG_P50];
    size_t rank = (n / 1000) * pm + ((n % 1000) * pm + 999) / 1000;

    return rank > 0 ? rank - 1 : 0;
}

/* Increase of a counter over the non-NaN samples of b, after its
 * reference; *pairs gets the number of deltas summed. */
static double increase(const bucket *b, size_t *pairs)
{
    bool have = b->has_ref;
    double prev = b->ref, inc = 0;

    *pairs = 0;
    for (size_t i = 0; i < b->n; i++) {
        double v = b->p[i].v;

        if (isnan(v))
            continue;
        if (have) {
            inc += v >= prev ? v - prev : v;
            (*pairs)++;
        }
        prev = v;
        have = true;
    }
    return inc;
}

/* Reduces one bucket of one series; false when the value is undefined.
 * scratch has room for b->n doubles. */
static bool reduce(int agg, const bucket *b, double step_s, double *scratch,
                   double *out)
{
    size_t m = 0, pairs;
    double acc = 0;

    switch (agg) {
    case SB_AGG_COUNT:
        *out = (double)b->n;
        return true;
    case SB_AGG_LAST:
        *out = b->p[b->n - 1].v;
        return true;
    case SB_AGG_RATE:
        acc = increase(b, &pairs);
        *out = acc / step_s;
        return pairs > 0;
    default:
        break;
    }
    for (size_t i = 0; i < b->n; i++) {
        double v = b->p[i].v;

        if (isnan(v))
            continue;
        if (is_pct(agg))
            scratch[m] = v;
        else if (agg == SB_AGG_MIN)
            acc = m == 0 || v < acc ? v : acc;
        else if (agg == SB_AGG_MAX)
            acc = m == 0 || v > acc ? v : acc;
        else
            acc += v;
        m++;
    }
    if (m == 0)
        return false;
    if (is_pct(agg))
        acc = select_kth(scratch, m, pct_index(agg, m));
    else if (agg == SB_AGG_AVG)
        acc /= (double)m;
    *out = acc;
    return true;
}

/* ------------------------------------------------------------ query state */

/*
 * A group's partial state for one bucket of one series, only what the
 * aggregation needs (24 bytes, so a grouped query's memory stays near
 * that of the points it read):
 *   avg, sum     x = sum of the non-NaN samples, y = their number
 *   min, max     x = min or max of the non-NaN samples, y = their number
 *   count        y = samples
 *   last         x = the newest sample, y = its time
 *   rate         x = the series' rate in the bucket
 * A partial whose value is undefined (no non-NaN sample, no rate) is not
 * kept at all.
 */
typedef struct partial {
    int64_t k;
    double x;
    int64_t y;
} partial;

typedef struct pct_pair {
    int64_t k;
    double v;
} pct_pair;

typedef struct group {
    uint64_t hash;
    char *gkey; /* group_by values, each NUL-terminated */
    size_t gkey_len;
    char *name; /* the common name so far; owned */
    bool mixed; /* series of different names */
    partial *parts;
    size_t nparts, parts_cap;
    pct_pair *pairs;
    size_t npairs, pairs_cap;
} group;

typedef struct qstate {
    const sb_range_query *q;
    const uint8_t *hash_key;
    double step_s;
    bool by_name; /* "__name__" is among group_by */
    double *scratch;
    size_t scratch_cap;
    sb_agg_value *vals; /* one series' values, before they are kept */
    size_t vals_cap;
    sb_agg_result *res;
    size_t res_cap;
    group *groups;
    size_t ngroups, groups_cap;
    size_t *table; /* open addressing: group index + 1, 0 = empty */
    size_t table_cap;
    sb_buf gkey; /* scratch for a series' group key */
} qstate;

static int count_values(qstate *st, size_t n)
{
    const sb_range_query *q = st->q;

    st->res->nvalues += n;
    if (q->max_values > 0 && st->res->nvalues > q->max_values)
        return SB_ETOOLARGE;
    return SB_OK;
}

/* Appends an output series with a copy of key and of vals[0..n). */
static int keep_series(qstate *st, const char *key, size_t key_len,
                       size_t nlabels, const sb_agg_value *vals, size_t n)
{
    sb_agg_result *r = st->res;
    sb_agg_series *s;
    int rc = count_values(st, n);

    if (rc != SB_OK)
        return rc;
    if (sb__array_grow((void **)&r->series, &st->res_cap, r->nseries + 1,
                       sizeof *r->series, 16) != SB_OK)
        return SB_ENOMEM;
    s = &r->series[r->nseries];
    memset(s, 0, sizeof *s);
    s->key = malloc(key_len);
    s->vals = malloc(n * sizeof *vals);
    if (s->key == NULL || s->vals == NULL) {
        free(s->key);
        free(s->vals);
        return SB_ENOMEM;
    }
    memcpy(s->key, key, key_len);
    memcpy(s->vals, vals, n * sizeof *vals);
    s->key_len = key_len;
    s->nlabels = nlabels;
    s->nvals = n;
    r->nseries++;
    return SB_OK;
}

/* ------------------------------------------------------------ one series */

/* Without group_by: reduces every bucket of s and keeps the values. */
static int series_plain(void *ud, const sb_scan_series *s)
{
    qstate *st = ud;
    bucket_iter it;
    bucket b;
    size_t n = 0;
    double v;

    if (sb__array_grow((void **)&st->scratch, &st->scratch_cap, s->npts,
                       sizeof *st->scratch, 16) != SB_OK ||
        sb__array_grow((void **)&st->vals, &st->vals_cap, s->npts,
                       sizeof *st->vals, 16) != SB_OK)
        return SB_ENOMEM;
    iter_init(&it, st->q, s->pts, s->npts);
    while (next_bucket(&it, &b)) {
        if (reduce(st->q->agg, &b, st->step_s, st->scratch, &v))
            st->vals[n++] = (sb_agg_value){b.start, v};
    }
    if (n == 0)
        return SB_OK;
    return keep_series(st, s->key, s->key_len, s->nlabels, st->vals, n);
}

/* The value of label key in a canonical key, or "" when absent. */
static const char *label_of(const sb_scan_series *s, const char *key)
{
    const char *p = s->key + strlen(s->key) + 1;

    for (size_t i = 0; i < s->nlabels; i++) {
        const char *v = p + strlen(p) + 1;

        if (strcmp(p, key) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return "";
}

/* Builds s's group key in st->gkey: the group_by values in order. */
static int group_key(qstate *st, const sb_scan_series *s)
{
    int rc = SB_OK;

    sb__buf_reset(&st->gkey);
    for (size_t i = 0; i < st->q->ngroup_by && rc == SB_OK; i++) {
        const char *k = st->q->group_by[i];
        const char *v = strcmp(k, "__name__") == 0 ? s->key : label_of(s, k);

        rc = sb__buf_append(&st->gkey, v, strlen(v) + 1);
    }
    return rc;
}

static void table_insert(qstate *st, size_t gi);

/* Doubles the hash table and re-inserts every group. */
static int table_grow(qstate *st)
{
    size_t cap = st->table_cap ? st->table_cap * 2 : 64;
    size_t *t = calloc(cap, sizeof *t);

    if (t == NULL)
        return SB_ENOMEM;
    free(st->table);
    st->table = t;
    st->table_cap = cap;
    for (size_t i = 0; i < st->ngroups; i++)
        table_insert(st, i);
    return SB_OK;
}

/* Puts group gi in the first free slot of its probe sequence. */
static void table_insert(qstate *st, size_t gi)
{
    size_t mask = st->table_cap - 1;
    size_t h = (size_t)st->groups[gi].hash & mask;

    while (st->table[h] != 0)
        h = (h + 1) & mask;
    st->table[h] = gi + 1;
}

/* The group of s (created on first sight). NULL when out of memory. */
static group *find_group(qstate *st, const sb_scan_series *s)
{
    uint64_t hash;
    size_t h, mask;
    group *g;

    if (group_key(st, s) != SB_OK)
        return NULL;
    hash = sb__siphash24(st->hash_key, st->gkey.data ? st->gkey.data : "",
                         st->gkey.len);
    if (2 * (st->ngroups + 1) > st->table_cap && table_grow(st) != SB_OK)
        return NULL;
    mask = st->table_cap - 1;
    for (h = (size_t)hash & mask; st->table[h] != 0; h = (h + 1) & mask) {
        g = &st->groups[st->table[h] - 1];
        if (g->hash == hash && g->gkey_len == st->gkey.len &&
            memcmp(g->gkey, st->gkey.data, g->gkey_len) == 0)
            return g;
    }

    if (sb__array_grow((void **)&st->groups, &st->groups_cap, st->ngroups + 1,
                       sizeof *st->groups, 16) != SB_OK)
        return NULL;
    g = &st->groups[st->ngroups];
    memset(g, 0, sizeof *g);
    g->hash = hash;
    g->gkey_len = st->gkey.len;
    g->gkey = malloc(g->gkey_len ? g->gkey_len : 1);
    g->name = strdup(s->key);
    if (g->gkey == NULL || g->name == NULL) {
        free(g->gkey);
        free(g->name);
        return NULL;
    }
    memcpy(g->gkey, st->gkey.data ? st->gkey.data : "", g->gkey_len);
    st->ngroups++;
    table_insert(st, st->ngroups - 1);
    return g;
}

/* The partial state of one bucket of one series; false when the bucket
 * defines nothing for the aggregation. */
static bool make_partial(const qstate *st, const bucket *b, partial *p)
{
    int agg = st->q->agg;
    size_t pairs;
    double acc = 0;
    int64_t m = 0;

    p->k = b->k;
    p->x = 0;
    switch (agg) {
    case SB_AGG_COUNT:
        p->y = (int64_t)b->n;
        return true;
    case SB_AGG_LAST:
        p->x = b->p[b->n - 1].v;
        p->y = b->p[b->n - 1].t;
        return true;
    case SB_AGG_RATE:
        p->x = increase(b, &pairs) / st->step_s;
        p->y = 1;
        return pairs > 0;
    default:
        break;
    }
    for (size_t i = 0; i < b->n; i++) {
        double v = b->p[i].v;

        if (isnan(v))
            continue;
        if (agg == SB_AGG_MIN)
            acc = m == 0 || v < acc ? v : acc;
        else if (agg == SB_AGG_MAX)
            acc = m == 0 || v > acc ? v : acc;
        else
            acc += v;
        m++;
    }
    p->x = acc;
    p->y = m;
    return m > 0;
}

/* Appends the non-NaN samples of b to the group's percentile pairs. */
static int add_pairs(group *g, const bucket *b)
{
    if (sb__array_grow((void **)&g->pairs, &g->pairs_cap, g->npairs + b->n,
                       sizeof *g->pairs, 16) != SB_OK)
        return SB_ENOMEM;
    for (size_t i = 0; i < b->n; i++)
        if (!isnan(b->p[i].v))
            g->pairs[g->npairs++] = (pct_pair){b->k, b->p[i].v};
    return SB_OK;
}

/* With group_by: adds s's buckets to its group. */
static int series_grouped(void *ud, const sb_scan_series *s)
{
    qstate *st = ud;
    group *g = NULL;
    bucket_iter it;
    bucket b;

    iter_init(&it, st->q, s->pts, s->npts);
    while (next_bucket(&it, &b)) {
        /* Only a series with samples in [from, to] joins its group. */
        if (g == NULL && (g = find_group(st, s)) == NULL)
            return SB_ENOMEM;
        if (!g->mixed && strcmp(g->name, s->key) != 0)
            g->mixed = true;
        if (is_pct(st->q->agg)) {
            if (add_pairs(g, &b) != SB_OK)
                return SB_ENOMEM;
            continue;
        }
        if (sb__array_grow((void **)&g->parts, &g->parts_cap, g->nparts + 1,
                           sizeof *g->parts, 16) != SB_OK)
            return SB_ENOMEM;
        if (make_partial(st, &b, &g->parts[g->nparts]))
            g->nparts++;
    }
    return SB_OK;
}

/* ------------------------------------------------------------ groups */

static int cmp_partial(const void *a, const void *b)
{
    const partial *x = a, *y = b;

    return (x->k > y->k) - (x->k < y->k);
}

static int cmp_pair(const void *a, const void *b)
{
    const pct_pair *x = a, *y = b;

    if (x->k != y->k)
        return (x->k > y->k) - (x->k < y->k);
    return (x->v > y->v) - (x->v < y->v);
}

/* True when (t, v) is newer than (bt, bv): later, or on equal times the
 * greater value with NaN lowest. */
static bool newer(int64_t t, double v, int64_t bt, double bv)
{
    if (t != bt)
        return t > bt;
    if (isnan(v))
        return false;
    return isnan(bv) || v > bv;
}

/* Combines the partials p[0..n) (n >= 1, all defined) of one bucket. */
static double combine(int agg, const partial *p, size_t n)
{
    partial a = p[0];

    for (size_t i = 1; i < n; i++) {
        const partial *x = &p[i];

        switch (agg) {
        case SB_AGG_MIN:
            a.x = x->x < a.x ? x->x : a.x;
            break;
        case SB_AGG_MAX:
            a.x = x->x > a.x ? x->x : a.x;
            break;
        case SB_AGG_LAST:
            if (newer(x->y, x->x, a.y, a.x))
                a = *x;
            break;
        default: /* sums and counts */
            a.x += x->x;
            a.y += x->y;
            break;
        }
    }
    switch (agg) {
    case SB_AGG_COUNT:
        return (double)a.y;
    case SB_AGG_AVG:
        return a.x / (double)a.y;
    default:
        return a.x;
    }
}

/*
 * Percentiles of a group whose buckets are dense (no more buckets in
 * range than samples): a counting sort by bucket, then a selection per
 * bucket. O(samples + buckets). Returns the number of values or -1 when
 * out of memory.
 */
static long pct_dense(qstate *st, group *g, int64_t k0, size_t nb)
{
    size_t *start = calloc(nb + 1, sizeof *start);
    double *v = malloc((g->npairs ? g->npairs : 1) * sizeof *v);
    long n = -1;

    if (start == NULL || v == NULL)
        goto out;
    for (size_t i = 0; i < g->npairs; i++)
        start[g->pairs[i].k - k0 + 1]++;
    for (size_t b = 0; b < nb; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < g->npairs; i++) /* start[b] ends at b's end */
        v[start[g->pairs[i].k - k0]++] = g->pairs[i].v;
    n = 0;
    for (size_t b = 0, lo = 0; b < nb; lo = start[b], b++) {
        size_t m = start[b] - lo;

        if (m > 0)
            st->vals[n++] =
                (sb_agg_value){bucket_start(k0 + (int64_t)b, st->q->step_ns),
                               select_kth(v + lo, m, pct_index(st->q->agg, m))};
    }
out:
    free(start);
    free(v);
    return n;
}

/* Reduces a group into st->vals, *n values. 0 or SB_ENOMEM. */
static int finish_group(qstate *st, group *g, size_t *out)
{
    const sb_range_query *q = st->q;
    int64_t k0 = sb__floor_div(q->from_ns, q->step_ns);
    uint64_t nb =
        (uint64_t)sb__floor_div(q->to_ns, q->step_ns) - (uint64_t)k0 + 1;
    size_t n = 0, i = 0;
    long dense;

    *out = 0;
    if (is_pct(q->agg) && nb <= g->npairs) {
        dense = pct_dense(st, g, k0, (size_t)nb);
        if (dense < 0)
            return SB_ENOMEM;
        *out = (size_t)dense;
        return SB_OK;
    }
    if (is_pct(q->agg)) {
        qsort(g->pairs, g->npairs, sizeof *g->pairs, cmp_pair);
        while (i < g->npairs) {
            size_t j = i;

            while (j < g->npairs && g->pairs[j].k == g->pairs[i].k)
                j++;
            st->vals[n++] =
                (sb_agg_value){bucket_start(g->pairs[i].k, st->q->step_ns),
                               g->pairs[i + pct_index(st->q->agg, j - i)].v};
            i = j;
        }
        *out = n;
        return SB_OK;
    }
    qsort(g->parts, g->nparts, sizeof *g->parts, cmp_partial);
    while (i < g->nparts) {
        size_t j = i;

        while (j < g->nparts && g->parts[j].k == g->parts[i].k)
            j++;
        st->vals[n++] =
            (sb_agg_value){bucket_start(g->parts[i].k, st->q->step_ns),
                           combine(st->q->agg, g->parts + i, j - i)};
        i = j;
    }
    *out = n;
    return SB_OK;
}

/* The output key of a group: name, then the group_by labels other than
 * __name__ (already in key order) with their values. */
static int group_out_key(const qstate *st, const group *g, sb_buf *out,
                         size_t *nlabels)
{
    const char *v = g->gkey;
    const char *name = g->mixed ? "" : g->name;
    int rc;

    sb__buf_reset(out);
    *nlabels = 0;
    rc = sb__buf_append(out, name, strlen(name) + 1);
    for (size_t i = 0; i < st->q->ngroup_by && rc == SB_OK; i++) {
        const char *k = st->q->group_by[i];

        if (strcmp(k, "__name__") == 0) {
            v += strlen(v) + 1;
            continue;
        }
        rc = sb__buf_append(out, k, strlen(k) + 1);
        if (rc == SB_OK)
            rc = sb__buf_append(out, v, strlen(v) + 1);
        v += strlen(v) + 1;
        (*nlabels)++;
    }
    return rc;
}

static int finish_groups(qstate *st)
{
    sb_buf key;
    size_t n, nlabels, most = 0;
    int rc = SB_OK;

    for (size_t i = 0; i < st->ngroups; i++) {
        size_t m =
            is_pct(st->q->agg) ? st->groups[i].npairs : st->groups[i].nparts;
        most = m > most ? m : most;
    }
    if (sb__array_grow((void **)&st->vals, &st->vals_cap, most,
                       sizeof *st->vals, 16) != SB_OK)
        return SB_ENOMEM;
    sb__buf_init(&key, SIZE_MAX);
    for (size_t i = 0; i < st->ngroups && rc == SB_OK; i++) {
        rc = finish_group(st, &st->groups[i], &n);
        if (rc != SB_OK || n == 0)
            continue;
        rc = group_out_key(st, &st->groups[i], &key, &nlabels);
        if (rc == SB_OK)
            rc = keep_series(st, key.data, key.len, nlabels, st->vals, n);
    }
    sb__buf_free(&key);
    return rc;
}

/* ------------------------------------------------------------ query */

static int cmp_out(const void *a, const void *b)
{
    const sb_agg_series *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int r = memcmp(x->key, y->key, n);

    if (r != 0)
        return r;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static bool query_ok(const sb_range_query *q)
{
    if (q->from_ns > q->to_ns || q->step_ns <= 0 || q->agg < 0 ||
        q->agg >= SB_AGG_KINDS || q->ngroup_by > SB_GROUP_BY_MAX)
        return false;
    for (size_t i = 0; i < q->ngroup_by; i++) {
        if (q->group_by[i] == NULL)
            return false;
        if (i > 0 && strcmp(q->group_by[i - 1], q->group_by[i]) >= 0)
            return false;
    }
    return true;
}

static void free_state(qstate *st)
{
    for (size_t i = 0; i < st->ngroups; i++) {
        free(st->groups[i].gkey);
        free(st->groups[i].name);
        free(st->groups[i].parts);
        free(st->groups[i].pairs);
    }
    free(st->groups);
    free(st->table);
    free(st->scratch);
    free(st->vals);
    sb__buf_free(&st->gkey);
}

int sb__range_query(sb_store *store, const sb_range_query *q,
                    sb_agg_result *out)
{
    sb_scan_filter f = {q->names, q->nnames, q->ms,
                        0,        q->to_ns,  q->max_samples};
    qstate st;
    int64_t k0;
    int rc;

    memset(out, 0, sizeof *out);
    if (!query_ok(q))
        return SB_EINVAL;
    memset(&st, 0, sizeof st);
    st.q = q;
    st.res = out;
    st.hash_key = store->hash_key;
    st.step_s = (double)q->step_ns / NS_PER_SEC;
    sb__buf_init(&st.gkey, SIZE_MAX);

    /* Read from the start of the bucket before from's: rate's reference. */
    k0 = sb__floor_div(q->from_ns, q->step_ns);
    if (__builtin_sub_overflow(k0, 1, &k0) ||
        __builtin_mul_overflow(k0, q->step_ns, &f.since_ns))
        f.since_ns = INT64_MIN;
    if (q->agg != SB_AGG_RATE)
        f.since_ns = q->from_ns;

    rc = sb__store_scan(store, &f,
                        q->ngroup_by > 0 ? series_grouped : series_plain, &st);
    if (rc == SB_OK && q->ngroup_by > 0)
        rc = finish_groups(&st);
    if (rc == SB_OK && out->nseries > 1)
        qsort(out->series, out->nseries, sizeof *out->series, cmp_out);
    free_state(&st);
    return rc;
}

void sb__agg_result_free(sb_agg_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].key);
        free(r->series[i].vals);
    }
    free(r->series);
    memset(r, 0, sizeof *r);
}
