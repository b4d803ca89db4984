/*
 * query.c - copy-out of query results.
 *
 * A query visits the shards one at a time. Under a shard's lock it copies
 * the matching series' keys and the points in range into private,
 * growable arrays, then releases the lock; all sorting, merging and later
 * encoding work on those copies. A writer therefore waits at most for one
 * shard's copy, never for a slow reader's network I/O.
 *
 * While collecting, each series' points form one time-sorted run in
 * pts[]. Afterwards the series are sorted by key, and the runs are merged
 * into one time-ordered array by pairwise merge passes (O(n log k) for n
 * points in k series, see merge_runs()). A result is therefore consistent per
 * shard, not across shards: a batch spanning shards may be seen half-written by
 * a query that runs concurrently with it.
 */
#include "store/match.h"
#include "store/result.h"
#include "store/store_internal.h"

#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

/* A series while collecting: its key is in the key buffer at key_off. */
typedef struct coll_series {
    size_t key_off, key_len, nlabels;
    size_t run_off, run_len; /* its points in the collected array */
    size_t npoints;
    int64_t first_ns, last_ns;
} coll_series;

typedef struct collector {
    const sb_query *q;
    const sb_matchset *ms; /* label matchers; never NULL */
    sb_buf keys;
    coll_series *series;
    size_t nseries, series_cap;
    sb_point *pts;
    size_t npts, pts_cap;
    size_t total_labels;
    /* With a limit, only the newest `keep` points can end up in the
     * result: points older than floor_ns are already known to lose, and
     * the collected points are pruned whenever they pass compact_at. */
    size_t keep; /* 0: no limit */
    size_t compact_at;
    int64_t floor_ns;
} collector;

void sb_query_init(sb_query *q)
{
    memset(q, 0, sizeof *q);
    q->since_ns = INT64_MIN;
    q->until_ns = INT64_MAX;
}

static bool name_matches(const sb_query *q, const sb_series *s)
{
    if (q->nnames == 0)
        return true;
    for (size_t i = 0; i < q->nnames; i++)
        if (strcmp(q->names[i], s->key) == 0)
            return true;
    return false;
}

/* Swaps two times. */
static void swap64(int64_t *a, int64_t *b)
{
    int64_t t = *a;

    *a = *b;
    *b = t;
}

static int64_t median3(int64_t a, int64_t b, int64_t c)
{
    if (a > b)
        swap64(&a, &b);
    if (b > c)
        swap64(&b, &c);
    return a > b ? a : b;
}

/* Returns the k-th largest value of v[0..n) (k counted from 1, k <= n),
 * reordering v. Quickselect with a three-way partition, so runs of equal
 * times cannot make it quadratic. */
static int64_t kth_largest(int64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n, want = k - 1;

    while (hi - lo > 1) {
        int64_t pivot = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
        size_t lt = lo, i = lo, gt = hi;

        /* [lo,lt) > pivot, [lt,i) == pivot, [gt,hi) < pivot */
        while (i < gt) {
            if (v[i] > pivot)
                swap64(&v[lt++], &v[i++]);
            else if (v[i] < pivot)
                swap64(&v[i], &v[--gt]);
            else
                i++;
        }
        if (want < lt)
            hi = lt;
        else if (want < gt)
            return pivot;
        else
            lo = gt;
    }
    return v[want];
}

/*
 * Prunes the collected points to (about) the newest c->keep: finds the
 * keep-th newest time T, cuts every run's points older than T and closes
 * the gaps. Points at exactly T all stay, so more than keep may remain.
 */
static int compact(collector *c)
{
    int64_t *times, floor;
    size_t o = 0;

    if (c->npts <= c->keep)
        return SB_OK;
    times = malloc(c->npts * sizeof *times);
    if (times == NULL)
        return SB_ENOMEM;
    for (size_t i = 0; i < c->npts; i++)
        times[i] = c->pts[i].t;
    floor = kth_largest(times, c->npts, c->keep);
    free(times);

    for (size_t i = 0; i < c->nseries; i++) {
        coll_series *cs = &c->series[i];
        const sb_point *run = c->pts + cs->run_off;
        size_t cut = 0;

        while (cut < cs->run_len && run[cut].t < floor)
            cut++;
        memmove(c->pts + o, run + cut, (cs->run_len - cut) * sizeof *run);
        cs->run_off = o;
        cs->run_len -= cut;
        cs->npoints = cs->run_len;
        if (cs->run_len > 0)
            cs->first_ns = c->pts[o].t;
        o += cs->run_len;
    }
    c->npts = o;
    c->floor_ns = floor;
    /* Ties at the floor can keep many points: back off so pruning stays
     * amortised O(1) per point. */
    c->compact_at = 2 * (o > c->keep ? o : c->keep);
    return SB_OK;
}

/* Reads the points of s in the query's range, or with latest only the
 * newest of them, into the free room of c->pts. Returns how many, or
 * (size_t)-1 when out of memory. Runs under the shard lock. */
static size_t read_series(collector *c, const sb_series *s, int64_t since)
{
    const sb_query *q = c->q;
    sb_point last;
    size_t n;

    if (q->latest && sb__series_last(s, &last) && last.t <= q->until_ns) {
        if (last.t < since)
            return 0;
        if (sb__array_grow((void **)&c->pts, &c->pts_cap, c->npts + 1,
                           sizeof *c->pts, 16) != SB_OK)
            return (size_t)-1;
        c->pts[c->npts] = last;
        return 1;
    }
    n = sb__series_count_range(s, since, q->until_ns);
    if (n == 0)
        return 0;
    if (sb__array_grow((void **)&c->pts, &c->pts_cap, c->npts + n,
                       sizeof *c->pts, 16) != SB_OK)
        return (size_t)-1;
    return sb__series_read_range(s, since, q->until_ns, c->pts + c->npts);
}

/* Adds s to a series-only result from its count and time span, without
 * copying points. Runs under the shard lock. */
static int add_span(collector *c, const sb_series *s, int64_t since)
{
    int64_t first, last;
    size_t n = sb__series_span(s, since, c->q->until_ns, &first, &last);
    coll_series *cs;

    if (n == 0)
        return SB_OK;
    if (sb__array_grow((void **)&c->series, &c->series_cap, c->nseries + 1,
                       sizeof *c->series, 16) != SB_OK ||
        sb__buf_append(&c->keys, s->key, s->key_len) != SB_OK)
        return SB_ENOMEM;
    cs = &c->series[c->nseries++];
    *cs = (coll_series){.key_off = c->keys.len - s->key_len,
                        .key_len = s->key_len,
                        .nlabels = s->nlabels,
                        .run_off = c->npts,
                        .npoints = n,
                        .first_ns = first,
                        .last_ns = last};
    c->total_labels += s->nlabels;
    return SB_OK;
}

/* Copies one series' matching points: the newest one with latest, the
 * newest limit with a limit. Runs under the shard lock. */
static int collect_series(collector *c, const sb_series *s)
{
    const sb_query *q = c->q;
    int64_t since = q->since_ns;
    sb_point *run;
    size_t n, keep;
    coll_series *cs;

    if (c->keep > 0 && c->floor_ns > since)
        since = c->floor_ns; /* older points already lose to others */
    if (q->series_only && !q->latest && q->limit == 0)
        return add_span(c, s, since);
    n = read_series(c, s, since);
    if (n == (size_t)-1)
        return SB_ENOMEM;
    if (n == 0)
        return SB_OK;
    keep = n;
    if (q->latest)
        keep = 1;
    else if (q->limit > 0 && keep > q->limit)
        keep = q->limit;
    run = c->pts + c->npts;
    memmove(run, run + (n - keep), keep * sizeof *run);
    if (!q->series_only && c->keep == 0 && q->max_points > 0 &&
        c->npts + keep > q->max_points)
        return SB_ETOOLARGE;

    if (sb__array_grow((void **)&c->series, &c->series_cap, c->nseries + 1,
                       sizeof *c->series, 16) != SB_OK ||
        sb__buf_append(&c->keys, s->key, s->key_len) != SB_OK)
        return SB_ENOMEM;

    cs = &c->series[c->nseries++];
    cs->key_off = c->keys.len - s->key_len;
    cs->key_len = s->key_len;
    cs->nlabels = s->nlabels;
    cs->npoints = keep;
    cs->first_ns = run[0].t;
    cs->last_ns = run[keep - 1].t;
    cs->run_off = c->npts;
    cs->run_len = 0;
    c->total_labels += s->nlabels;
    if (q->series_only)
        return SB_OK;

    c->npts += keep;
    cs->run_len = keep;
    if (c->keep > 0 && c->npts > c->compact_at)
        return compact(c);
    return SB_OK;
}

static int collect_shard(collector *c, sb_shard *sh)
{
    int rc = SB_OK;

    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < sh->nslots && rc == SB_OK; i++) {
        const sb_series *s = sh->slots[i];

        if (s != NULL && name_matches(c->q, s) &&
            sb__matchset_test(c->ms, s->key, s->key_len, s->nlabels))
            rc = collect_series(c, s);
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* ------------------------------------------------------------ ordering */

static int cmp_series(const void *a, const void *b, void *keys)
{
    const coll_series *x = a, *y = b;
    const char *k = keys;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int r = memcmp(k + x->key_off, k + y->key_off, n);

    if (r != 0)
        return r;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/*
 * Merges the sorted runs a[lo..mid) and a[mid..hi) into b[lo..hi). On
 * equal times the left run goes first: the left run holds the lower
 * series indices, so ties stay ordered by series.
 */
static void merge_pair(const sb_result_point *a, sb_result_point *b, size_t lo,
                       size_t mid, size_t hi)
{
    size_t i = lo, j = mid, o = lo;

    while (i < mid && j < hi)
        b[o++] = a[j].time_ns < a[i].time_ns ? a[j++] : a[i++];
    memcpy(b + o, a + i, (mid - i) * sizeof *a);
    o += mid - i;
    memcpy(b + o, a + j, (hi - j) * sizeof *a);
}

/* One bottom-up pass: merges runs 2k and 2k+1 of src into dst. bounds[]
 * holds the nruns + 1 run starts; it is rewritten for the merged runs.
 * Returns the new number of runs. */
static size_t merge_pass(const sb_result_point *src, sb_result_point *dst,
                         size_t *bounds, size_t nruns)
{
    size_t r, out = 0;

    for (r = 0; r + 1 < nruns; r += 2) {
        merge_pair(src, dst, bounds[r], bounds[r + 1], bounds[r + 2]);
        bounds[out++] = bounds[r];
    }
    if (r < nruns) {
        memcpy(dst + bounds[r], src + bounds[r],
               (bounds[r + 1] - bounds[r]) * sizeof *src);
        bounds[out++] = bounds[r];
    }
    bounds[out] = bounds[nruns];
    return out;
}

/* Passes a bottom-up merge of nruns runs takes: ceil(log2(nruns)). */
static unsigned merge_passes(size_t nruns)
{
    unsigned p = 0;

    while (nruns > 1) {
        nruns = (nruns + 1) / 2;
        p++;
    }
    return p;
}

/*
 * Merges the sorted runs of c (series already in final order) into out,
 * which has room for c->npts points. The runs are laid out side by side
 * in series order and merged pairwise, log2(runs) sequential passes
 * between out and a scratch array of the same size; the runs start in
 * whichever of the two makes the last pass land in out. Sequential
 * passes beat a heap of cursors here: the heap's comparisons mispredict
 * on every point, while a pairwise merge streams through memory.
 */
static int merge_runs(const collector *c, sb_result_point *out)
{
    size_t *bounds = malloc((c->nseries + 1) * sizeof *bounds);
    sb_result_point *scratch = NULL, *bufs[2];
    size_t nruns = 0, o = 0;
    unsigned passes, cur;
    int rc = SB_ENOMEM;

    if (bounds == NULL)
        goto out;
    for (size_t i = 0; i < c->nseries; i++)
        if (c->series[i].run_len > 0)
            nruns++;
    passes = merge_passes(nruns);
    if (passes > 0) {
        scratch = malloc(c->npts * sizeof *scratch);
        if (scratch == NULL)
            goto out;
    }

    bufs[0] = out;
    bufs[1] = scratch;
    cur = passes % 2; /* after `passes` flips, cur is 0: out */
    nruns = 0;
    for (size_t i = 0; i < c->nseries; i++) {
        const coll_series *cs = &c->series[i];

        if (cs->run_len == 0)
            continue;
        bounds[nruns++] = o;
        for (size_t k = 0; k < cs->run_len; k++) {
            const sb_point *p = &c->pts[cs->run_off + k];

            bufs[cur][o++] = (sb_result_point){p->t, p->v, (uint32_t)i};
        }
    }
    bounds[nruns] = o;

    while (nruns > 1) {
        nruns = merge_pass(bufs[cur], bufs[cur ^ 1], bounds, nruns);
        cur ^= 1;
    }
    rc = SB_OK;

out:
    free(scratch);
    free(bounds);
    return rc;
}

/* ------------------------------------------------------------ result */

/* Points each result series' name and labels into the key arena. */
static void link_series(sb_result *r, const collector *c)
{
    sb_label *lab = r->label_arena;

    for (size_t i = 0; i < c->nseries; i++) {
        const coll_series *cs = &c->series[i];
        sb_result_series *rs = &r->series[i];
        char *p = r->arena + cs->key_off;

        rs->name = p;
        rs->name_len = strlen(p);
        p += rs->name_len + 1;
        rs->labels = lab;
        rs->nlabels = cs->nlabels;
        for (size_t j = 0; j < cs->nlabels; j++) {
            lab[j].key = p;
            p += strlen(p) + 1;
            lab[j].value = p;
            p += strlen(p) + 1;
        }
        lab += cs->nlabels;
        rs->npoints = cs->npoints;
        rs->first_ns = cs->first_ns;
        rs->last_ns = cs->last_ns;
    }
}

static int build_result(collector *c, sb_result **out)
{
    sb_result *r = calloc(1, sizeof *r);
    size_t keep;

    if (r == NULL)
        return SB_ENOMEM;
    r->nseries = c->nseries;
    r->series = calloc(c->nseries ? c->nseries : 1, sizeof *r->series);
    r->label_arena =
        calloc(c->total_labels ? c->total_labels : 1, sizeof(sb_label));
    r->points = malloc((c->npts ? c->npts : 1) * sizeof *r->points);
    if (r->series == NULL || r->label_arena == NULL || r->points == NULL)
        goto fail;
    if (merge_runs(c, r->points) != SB_OK)
        goto fail;

    keep = c->npts;
    if (c->q->limit > 0 && keep > c->q->limit) {
        keep = c->q->limit;
        memmove(r->points, r->points + (c->npts - keep),
                keep * sizeof *r->points);
    }
    r->npoints = keep;
    if (c->q->max_points > 0 && keep > c->q->max_points) {
        sb_result_free(r);
        return SB_ETOOLARGE;
    }
    r->arena = sb__buf_steal(&c->keys, NULL);
    link_series(r, c);
    *out = r;
    return SB_OK;

fail:
    sb_result_free(r);
    return SB_ENOMEM;
}

/* Removes series whose points were all pruned by compact(). */
static void drop_empty_series(collector *c)
{
    size_t o = 0;

    if (c->keep == 0)
        return;
    for (size_t i = 0; i < c->nseries; i++) {
        if (c->series[i].run_len == 0) {
            c->total_labels -= c->series[i].nlabels;
            continue;
        }
        c->series[o++] = c->series[i];
    }
    c->nseries = o;
}

int sb_store_query(sb_store *st, const sb_query *q, sb_result **out)
{
    sb_matchset ms;
    int rc;

    *out = NULL;
    rc = sb__matchset_compile(&ms, q->matchers, q->nmatchers, NULL, 0);
    if (rc != SB_OK)
        return rc == SB_ETOOLARGE ? SB_EINVAL : rc;
    rc = sb__store_query_matched(st, q, &ms, out);
    sb__matchset_free(&ms);
    return rc;
}

int sb__store_query_matched(sb_store *st, const sb_query *q,
                            const sb_matchset *ms, sb_result **out)
{
    collector c;
    int rc = SB_OK;

    *out = NULL;
    memset(&c, 0, sizeof c);
    c.q = q;
    c.ms = ms;
    sb__buf_init(&c.keys, SIZE_MAX);

    c.floor_ns = INT64_MIN;
    if (q->limit > 0 && !q->series_only) {
        c.keep = q->limit;
        if (q->max_points > 0 && c.keep > q->max_points)
            c.keep = q->max_points + 1; /* enough to know it is too many */
        c.compact_at = 2 * c.keep;
    }

    for (size_t i = 0; i < SB_SHARDS && rc == SB_OK; i++)
        rc = collect_shard(&c, &st->shards[i]);
    if (rc != SB_OK)
        goto out;
    drop_empty_series(&c);

    if (c.nseries > 1)
        qsort_r(c.series, c.nseries, sizeof *c.series, cmp_series, c.keys.data);
    rc = build_result(&c, out);

out:
    sb__buf_free(&c.keys);
    free(c.series);
    free(c.pts);
    return rc;
}

void sb_result_free(sb_result *r)
{
    if (r == NULL)
        return;
    free(r->series);
    free(r->points);
    free(r->arena);
    free(r->label_arena);
    free(r);
}

size_t sb_result_point_count(const sb_result *r)
{
    return r->npoints;
}

void sb_result_get_point(const sb_result *r, size_t i, sb_sample *out)
{
    const sb_result_point *p = &r->points[i];
    const sb_result_series *s = &r->series[p->series];

    out->name = s->name;
    out->labels = s->labels;
    out->nlabels = s->nlabels;
    out->value = p->value;
    out->time_ns = p->time_ns;
}

size_t sb_result_series_count(const sb_result *r)
{
    return r->nseries;
}

void sb_result_get_series(const sb_result *r, size_t i, sb_series_info *out)
{
    const sb_result_series *s = &r->series[i];

    out->name = s->name;
    out->labels = s->labels;
    out->nlabels = s->nlabels;
    out->npoints = s->npoints;
    out->first_ns = s->first_ns;
    out->last_ns = s->last_ns;
}
