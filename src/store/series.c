/*
 * series.c - the chunks of one series (see series.h for the invariants).
 *
 * In-order appends, the common case, code one sample into the open chunk
 * in place: O(1), and an allocation only when the chunk's buffer needs
 * another OPEN_STEP bytes or the chunk is cut. A late sample or a
 * replaced value decodes and re-encodes the one chunk it falls in, so its
 * cost is bounded by the chunk's size. A cut chunk is reallocated to its
 * exact size; the open chunk keeps at most OPEN_STEP bytes of slack on top
 * of the SB_CHUNK_SAMPLE_MAX_BYTES the coder needs free.
 */
#include "store/series.h"

#include <stdlib.h>
#include <string.h>

#define OPEN_STEP 64 /* bytes the open chunk grows by */

sb_series *sb__series_new(const char *key, size_t key_len, uint64_t hash,
                          size_t nlabels)
{
    sb_series *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->key = malloc(key_len);
    if (s->key == NULL) {
        free(s);
        return NULL;
    }
    memcpy(s->key, key, key_len);
    s->key_len = key_len;
    s->hash = hash;
    s->nlabels = nlabels;
    s->floor = INT64_MIN;
    s->last_t = INT64_MIN;
    s->window_t = INT64_MIN;
    sb__cstate_init(&s->enc);
    return s;
}

void sb__series_free(sb_series *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nchunks; i++)
        free(s->chunks[i]);
    free(s->chunks);
    free(s->key);
    free(s);
}

static size_t chunk_size(uint32_t cap)
{
    return sizeof(sb_chunk) + cap;
}

static sb_chunk *last_chunk(const sb_series *s)
{
    return s->nchunks > 0 ? s->chunks[s->nchunks - 1] : NULL;
}

bool sb__series_accepts(const sb_series *s, int64_t t)
{
    return t > s->window_t;
}

/* Recomputes last_t and window_t after the chunk list changed. */
static void refresh_bounds(sb_series *s)
{
    size_t n = s->nchunks;

    s->last_t = n > 0 ? s->chunks[n - 1]->last_t : INT64_MIN;
    s->window_t = n >= 3 ? s->chunks[n - 3]->last_t : INT64_MIN;
}

int sb__series_reserve(sb_series *s, size_t more)
{
    size_t cap = s->chunks_cap ? s->chunks_cap : 4;
    sb_chunk **p;

    if (s->nchunks + more <= s->chunks_cap)
        return SB_OK;
    while (cap < s->nchunks + more)
        cap *= 2;
    p = realloc(s->chunks, cap * sizeof *p);
    if (p == NULL)
        return SB_ENOMEM;
    s->bytes += (cap - s->chunks_cap) * sizeof *p;
    s->chunks = p;
    s->chunks_cap = cap;
    return SB_OK;
}

void sb__series_shrink(sb_series *s)
{
    size_t cap = s->chunks_cap / 2;
    sb_chunk **p;

    if (s->nchunks == 0 && s->chunks_cap > 0) {
        free(s->chunks);
        s->bytes -= s->chunks_cap * sizeof *s->chunks;
        s->chunks = NULL;
        s->chunks_cap = 0;
        return;
    }
    if (s->chunks_cap <= 16 || s->nchunks >= s->chunks_cap / 4)
        return;
    p = realloc(s->chunks, cap * sizeof *p);
    if (p == NULL)
        return; /* best effort: keep the larger array */
    s->bytes -= (s->chunks_cap - cap) * sizeof *p;
    s->chunks = p;
    s->chunks_cap = cap;
}

/* Resizes chunk i's buffer to cap bytes, zeroing what is new. */
static int chunk_resize(sb_series *s, size_t i, uint32_t cap)
{
    sb_chunk *c = s->chunks[i], *g = realloc(c, chunk_size(cap));

    if (g == NULL)
        return SB_ENOMEM;
    if (cap > g->cap)
        memset(g->data + g->cap, 0, cap - g->cap);
    s->bytes = s->bytes - g->cap + cap;
    g->cap = cap;
    s->chunks[i] = g;
    return SB_OK;
}

static bool must_cut(const sb_chunk *c, const sb_series_limits *lim, int64_t t)
{
    return c->n >= lim->chunk_samples || c->nbytes >= SB_CHUNK_MAX_BYTES ||
           (uint64_t)t - (uint64_t)c->first_t > (uint64_t)lim->chunk_span;
}

/* Starts a new open chunk after cutting the current one to size. */
static int open_chunk(sb_series *s, int64_t t)
{
    uint32_t cap = SB_CHUNK_SAMPLE_MAX_BYTES + OPEN_STEP / 2;
    sb_chunk *c;

    if (sb__series_reserve(s, 1) != SB_OK)
        return SB_ENOMEM;
    c = calloc(1, chunk_size(cap));
    if (c == NULL)
        return SB_ENOMEM;
    if (s->nchunks > 0) /* best effort: a failed shrink keeps the slack */
        (void)chunk_resize(s, s->nchunks - 1, last_chunk(s)->nbytes);
    c->first_t = c->last_t = t;
    c->cap = cap;
    s->chunks[s->nchunks++] = c;
    s->bytes += chunk_size(cap);
    sb__cstate_init(&s->enc);
    refresh_bounds(s);
    return SB_OK;
}

static int append(sb_series *s, const sb_series_limits *lim, int64_t t,
                  double v)
{
    sb_chunk *c = last_chunk(s);

    if (c == NULL || must_cut(c, lim, t)) {
        if (open_chunk(s, t) != SB_OK)
            return SB_ENOMEM;
        c = last_chunk(s);
    }
    if (c->cap - c->nbytes < SB_CHUNK_SAMPLE_MAX_BYTES) {
        if (chunk_resize(s, s->nchunks - 1, c->cap + OPEN_STEP) != SB_OK)
            return SB_ENOMEM;
        c = last_chunk(s);
    }
    sb__chunk_append(&s->enc, c->data, t, v);
    c->n++;
    c->last_t = t;
    c->nbytes = (uint32_t)sb__cstate_bytes(&s->enc);
    s->npoints++;
    s->last_t = t;
    return SB_OK;
}

/* The chunk a late time t belongs to: the last one starting at or
 * before t (chunk 0 for a time before every chunk). */
static size_t find_chunk(const sb_series *s, int64_t t)
{
    size_t lo = 0, hi = s->nchunks;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->chunks[mid]->first_t <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* A new chunk holding the n points of pts, sized exactly, or with room
 * for the next append when open. NULL when out of memory. */
static sb_chunk *encode_chunk(const sb_point *pts, uint32_t n, bool open,
                              sb_cstate *st)
{
    /* Room for the points and, when open, the slack below: the realloc
     * that follows must only ever shrink, so every byte past the stream
     * stays zeroed for the next append. */
    size_t worst = (size_t)(n + 2) * SB_CHUNK_SAMPLE_MAX_BYTES + OPEN_STEP;
    sb_chunk *c = calloc(1, chunk_size((uint32_t)worst)), *g;
    uint32_t used, cap;

    if (c == NULL)
        return NULL;
    sb__chunk_encode(pts, n, c->data, st);
    used = (uint32_t)sb__cstate_bytes(st);
    cap = open ? used + SB_CHUNK_SAMPLE_MAX_BYTES + OPEN_STEP / 2 : used;
    g = realloc(c, chunk_size(cap)); /* shrinks: keeps the zeroed tail */
    if (g != NULL)
        c = g;
    else
        cap = (uint32_t)worst;
    c->first_t = pts[0].t;
    c->last_t = pts[n - 1].t;
    c->n = n;
    c->nbytes = used;
    c->cap = cap;
    return c;
}

/*
 * Re-encodes the n points of pts (times rising) in place of chunk i: as
 * one chunk, or past SB_CHUNK_SPLIT points (late points only ever grow a
 * chunk) as several of at most SB_CHUNK_MAX_SAMPLES, so that the cost of
 * the next late point stays bounded. Nothing changes on SB_ENOMEM.
 */
static int rewrite_chunk(sb_series *s, size_t i, const sb_point *pts, size_t n)
{
    bool open = i + 1 == s->nchunks;
    size_t k = 1, per = n;
    sb_chunk *one = NULL, **made = &one, *old = s->chunks[i];
    sb_cstate st;
    int rc = SB_ENOMEM;

    if (n > SB_CHUNK_SPLIT) {
        k = (n + SB_CHUNK_MAX_SAMPLES - 1) / SB_CHUNK_MAX_SAMPLES;
        per = (n + k - 1) / k;
        k = (n + per - 1) / per;
        made = calloc(k, sizeof *made);
        if (made == NULL || sb__series_reserve(s, k - 1) != SB_OK)
            goto out;
    }
    for (size_t j = 0; j < k; j++) {
        size_t off = j * per, cnt = n - off < per ? n - off : per;

        made[j] =
            encode_chunk(pts + off, (uint32_t)cnt, open && j == k - 1, &st);
        if (made[j] == NULL)
            goto out;
    }

    s->bytes -= chunk_size(old->cap);
    s->npoints -= old->n;
    free(old);
    memmove(s->chunks + i + k, s->chunks + i + 1,
            (s->nchunks - i - 1) * sizeof *s->chunks);
    for (size_t j = 0; j < k; j++) {
        s->chunks[i + j] = made[j];
        s->bytes += chunk_size(made[j]->cap);
        s->npoints += made[j]->n;
        made[j] = NULL;
    }
    s->nchunks += k - 1;
    if (open)
        s->enc = st;
    refresh_bounds(s);
    rc = SB_OK;

out:
    for (size_t j = 0; made != NULL && j < k; j++)
        free(made[j]);
    if (made != &one)
        free(made);
    return rc;
}

/*
 * Writes the m points of add (times strictly rising, all within chunk i's
 * time range) into chunk i: a time already there takes the new value.
 * Decodes and re-encodes the chunk once, and not at all when nothing
 * changes (the same points again). Nothing changes on SB_ENOMEM.
 */
static int merge_into(sb_series *s, size_t i, const sb_point *add, size_t m)
{
    const sb_chunk *c = s->chunks[i];
    sb_point *old = malloc(c->n * sizeof *old);
    sb_point *out = malloc((c->n + m) * sizeof *out);
    size_t a = 0, b = 0, o = 0;
    bool changed = false;
    int rc = SB_ENOMEM;

    if (old == NULL || out == NULL)
        goto out;
    if (sb__chunk_decode(c->data, c->nbytes, c->first_t, c->n, old, NULL) != 0)
        goto out; /* cannot happen: the store wrote the chunk */
    while (a < c->n || b < m) {
        if (b == m || (a < c->n && old[a].t < add[b].t)) {
            out[o++] = old[a++];
            continue;
        }
        if (a == c->n || add[b].t < old[a].t)
            changed = true;
        else if (memcmp(&old[a++].v, &add[b].v, sizeof add[b].v) != 0)
            changed = true; /* a new value for a time held */
        out[o++] = add[b++];
    }
    rc = changed ? rewrite_chunk(s, i, out, o) : SB_OK;

out:
    free(old);
    free(out);
    return rc;
}

static void drop_first(sb_series *s)
{
    sb_chunk *c = s->chunks[0];

    s->npoints -= c->n;
    s->bytes -= chunk_size(c->cap);
    free(c);
    memmove(s->chunks, s->chunks + 1, (s->nchunks - 1) * sizeof *s->chunks);
    s->nchunks--;
    if (s->nchunks == 0)
        sb__cstate_init(&s->enc);
    refresh_bounds(s);
}

/* The chunk a late time t goes to: the one whose range holds it, or for
 * a time between two chunks the newer one (the open chunk when the older
 * one is sealed). */
static size_t late_chunk(const sb_series *s, int64_t t)
{
    size_t i = find_chunk(s, t);

    if (t > s->chunks[i]->last_t && i + 1 < s->nchunks)
        i++;
    return i;
}

size_t sb__series_put_run(sb_series *s, const sb_series_limits *lim,
                          const sb_point *pts, size_t m, size_t *added,
                          size_t *dropped)
{
    size_t before = s->npoints, k = 0;

    while (k < m) {
        const sb_chunk *c = last_chunk(s);
        size_t i, j;

        if (c == NULL || pts[k].t > c->last_t) {
            if (append(s, lim, pts[k].t, pts[k].v) != SB_OK)
                break;
            k++;
            continue;
        }
        i = late_chunk(s, pts[k].t);
        for (j = k + 1; j < m && pts[j].t <= s->chunks[i]->last_t; j++)
            ;
        if (merge_into(s, i, pts + k, j - k) != SB_OK)
            break;
        k = j;
    }
    *added += s->npoints - before;
    while (s->npoints > lim->max_points && s->nchunks > 1)
        *dropped += sb__series_drop_oldest(s);
    return k;
}

int sb__series_put(sb_series *s, const sb_series_limits *lim, int64_t t,
                   double v, size_t *added, size_t *dropped)
{
    const sb_point p = {t, v};

    return sb__series_put_run(s, lim, &p, 1, added, dropped) == 1 ? SB_OK
                                                                  : SB_ENOMEM;
}

size_t sb__series_drop_oldest(sb_series *s)
{
    size_t n;

    if (s->nchunks == 0)
        return 0;
    n = s->chunks[0]->n;
    drop_first(s);
    return n;
}

size_t sb__series_trim(sb_series *s, int64_t cutoff)
{
    size_t n = 0;

    while (s->nchunks > 0 && s->chunks[0]->last_t < cutoff)
        n += sb__series_drop_oldest(s);
    if (cutoff > s->floor)
        s->floor = cutoff;
    return n;
}

bool sb__series_last(const sb_series *s, sb_point *out)
{
    const sb_chunk *c = last_chunk(s);

    if (c == NULL || c->last_t < s->floor)
        return false;
    out->t = c->last_t;
    memcpy(&out->v, &s->enc.bits, sizeof out->v);
    return true;
}

/* Counts the points of s in [since, until], copies them to out when out
 * is not NULL, and leaves the first and last time counted in span[0] and
 * span[1]. Whole chunks inside the range are counted from their header and
 * decoded straight into out; only the (at most two) chunks cut by a bound
 * are walked point by point. */
static size_t scan_range(const sb_series *s, int64_t since, int64_t until,
                         sb_point *out, int64_t span[2])
{
    size_t n = 0;

    if (since < s->floor)
        since = s->floor;
    if (since > until)
        return 0;
    for (size_t i = 0; i < s->nchunks; i++) {
        const sb_chunk *c = s->chunks[i];
        sb_chunk_iter it;
        sb_point p;

        if (c->last_t < since)
            continue;
        if (c->first_t > until)
            break;
        if (c->first_t >= since && c->last_t <= until) {
            if (out != NULL && sb__chunk_decode(c->data, c->nbytes, c->first_t,
                                                c->n, out + n, NULL) != 0)
                return n; /* cannot happen: the store wrote the chunk */
            if (n == 0)
                span[0] = c->first_t;
            span[1] = c->last_t;
            n += c->n;
            continue;
        }
        sb__chunk_iter_init(&it, c->data, c->nbytes, c->first_t, c->n);
        while (sb__chunk_iter_next(&it, &p) == 1 && p.t <= until) {
            if (p.t < since)
                continue;
            if (out != NULL)
                out[n] = p;
            if (n++ == 0)
                span[0] = p.t;
            span[1] = p.t;
        }
    }
    return n;
}

size_t sb__series_count_range(const sb_series *s, int64_t since, int64_t until)
{
    int64_t span[2];

    return scan_range(s, since, until, NULL, span);
}

size_t sb__series_read_range(const sb_series *s, int64_t since, int64_t until,
                             sb_point *out)
{
    int64_t span[2];

    return scan_range(s, since, until, out, span);
}

size_t sb__series_span(const sb_series *s, int64_t since, int64_t until,
                       int64_t *first, int64_t *last)
{
    int64_t span[2] = {0, 0};
    size_t n = scan_range(s, since, until, NULL, span);

    *first = span[0];
    *last = span[1];
    return n;
}
