/*
 * series.c - the ring buffer of one series (see series.h for the
 * invariants). In-order appends, the common case, are O(1); a late point
 * is inserted in place at O(len) cost; growth copies the ring into a new,
 * larger array in logical order, so start is 0 afterwards.
 */
#include "store/series.h"

#include <stdlib.h>
#include <string.h>

#define SB_SERIES_MIN_CAP 8

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
    return s;
}

void sb__series_free(sb_series *s)
{
    if (s == NULL)
        return;
    free(s->pts);
    free(s->key);
    free(s);
}

void sb__series_copy(const sb_series *s, size_t lo, size_t hi, sb_point *out)
{
    size_t n = hi - lo, first = s->start + lo, run;

    if (n == 0)
        return;
    if (first >= s->cap)
        first -= s->cap;
    run = s->cap - first < n ? s->cap - first : n;
    memcpy(out, s->pts + first, run * sizeof *out);
    if (run < n)
        memcpy(out + run, s->pts, (n - run) * sizeof *out);
}

static int series_resize(sb_series *s, size_t cap)
{
    sb_point *p = malloc(cap * sizeof *p);

    if (p == NULL)
        return SB_ENOMEM;
    sb__series_copy(s, 0, s->len, p);
    free(s->pts);
    s->pts = p;
    s->cap = cap;
    s->start = 0;
    return SB_OK;
}

int sb__series_reserve(sb_series *s, size_t want)
{
    size_t cap = s->cap ? s->cap : SB_SERIES_MIN_CAP;

    if (want <= s->cap)
        return SB_OK;
    while (cap < want)
        cap *= 2;
    return series_resize(s, cap);
}

void sb__series_shrink(sb_series *s)
{
    size_t cap = s->cap / 2;

    if (s->len == 0 && s->cap > 0) {
        free(s->pts);
        s->pts = NULL;
        s->cap = 0;
        s->start = 0;
        return;
    }
    if (s->cap <= 4 * SB_SERIES_MIN_CAP || s->len >= s->cap / 4)
        return;
    /* Best effort: keep the old ring when the allocation fails. */
    (void)series_resize(s, cap);
}

size_t sb__series_lower_bound(const sb_series *s, int64_t t)
{
    size_t lo = 0, hi = s->len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (sb__series_at(s, mid)->t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t sb__series_upper_bound(const sb_series *s, int64_t t)
{
    size_t lo = 0, hi = s->len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (sb__series_at(s, mid)->t <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void drop_oldest(sb_series *s, size_t k)
{
    s->start += k;
    if (s->start >= s->cap)
        s->start -= s->cap;
    s->len -= k;
    if (s->len == 0)
        s->start = 0;
}

size_t sb__series_trim(sb_series *s, int64_t cutoff)
{
    size_t k;

    if (s->len == 0 || sb__series_at(s, 0)->t >= cutoff)
        return 0;
    k = sb__series_lower_bound(s, cutoff);
    drop_oldest(s, k);
    return k;
}

/* Inserts at logical position pos, shifting the later points up by one.
 * Requires len < cap. */
static void insert_at(sb_series *s, size_t pos, int64_t t, double v)
{
    for (size_t i = s->len; i > pos; i--)
        *sb__series_at(s, i) = *sb__series_at(s, i - 1);
    s->len++;
    *sb__series_at(s, pos) = (sb_point){t, v};
}

size_t sb__series_insert(sb_series *s, int64_t t, double v, size_t max,
                         size_t *added)
{
    size_t pos, dropped = 0;

    *added = 0;
    pos = s->len;
    if (s->len > 0 && sb__series_at(s, s->len - 1)->t >= t) {
        pos = sb__series_lower_bound(s, t);
        if (pos < s->len && sb__series_at(s, pos)->t == t) {
            sb__series_at(s, pos)->v = v;
            return 0;
        }
    }

    if (s->len >= max) {
        if (pos == 0)
            return 1; /* older than everything kept: it is the one dropped */
        drop_oldest(s, 1);
        pos--;
        dropped = 1;
    } else {
        *added = 1;
    }
    insert_at(s, pos, t, v);
    return dropped;
}

size_t sb__series_count_range(const sb_series *s, int64_t since, int64_t until)
{
    size_t lo, hi;

    if (since > until)
        return 0;
    lo = sb__series_lower_bound(s, since);
    hi = sb__series_upper_bound(s, until);
    return hi > lo ? hi - lo : 0;
}

size_t sb__series_read_range(const sb_series *s, int64_t since, int64_t until,
                             sb_point *out)
{
    size_t lo, hi;

    if (since > until)
        return 0;
    lo = sb__series_lower_bound(s, since);
    hi = sb__series_upper_bound(s, until);
    if (hi <= lo)
        return 0;
    sb__series_copy(s, lo, hi, out);
    return hi - lo;
}
