/*
 * series.h - one series: its identity and its points in a ring buffer.
 *
 * Identity is the canonical key "name\0k1\0v1\0...kN\0vN\0" with labels
 * sorted by key. Names, keys and values never contain NUL, so the key is
 * unambiguous, and comparing keys bytewise orders series by name first,
 * then by labels.
 *
 * Points live in a ring of cap slots starting at start; logical index i
 * is slot (start + i) mod cap. Invariants: len <= cap, len <= the store's
 * max_points_per_series, and points are strictly increasing in time
 * (equal times replace, never duplicate). Only the owning shard's lock
 * guards a series.
 */
#ifndef SB_STORE_SERIES_H
#define SB_STORE_SERIES_H

#include "scoreboard.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sb_point {
    int64_t t;
    double v;
} sb_point;

typedef struct sb_series {
    uint64_t hash;
    char *key; /* canonical key; also holds the name and label strings */
    size_t key_len;
    size_t nlabels;
    sb_point *pts;
    size_t start, len, cap;
    size_t pending; /* scratch for a batch write, under the shard lock */
} sb_series;

/* Creates a series holding a copy of key. NULL when out of memory. */
sb_series *sb__series_new(const char *key, size_t key_len, uint64_t hash,
                          size_t nlabels);
void sb__series_free(sb_series *s);

static inline sb_point *sb__series_at(const sb_series *s, size_t i)
{
    size_t slot = s->start + i;

    return &s->pts[slot >= s->cap ? slot - s->cap : slot];
}

/* Grows the ring so it holds at least want points. 0 or SB_ENOMEM. */
int sb__series_reserve(sb_series *s, size_t want);

/* Inserts (t, v) keeping time order; an equal time replaces the value.
 * When len == max, the oldest point is dropped first (or the new point
 * itself when it is older than all). Requires room for one more point
 * when len < max. Returns how many points were dropped (0 or 1) and adds
 * to *added the change in len (0 or 1). */
size_t sb__series_insert(sb_series *s, int64_t t, double v, size_t max,
                         size_t *added);

/* First logical index whose time is >= t (len when none). */
size_t sb__series_lower_bound(const sb_series *s, int64_t t);
/* First logical index whose time is > t (len when none). */
size_t sb__series_upper_bound(const sb_series *s, int64_t t);

/* Drops points older than cutoff; returns how many. */
size_t sb__series_trim(sb_series *s, int64_t cutoff);

/* Halves the ring when it is mostly empty, to return memory. */
void sb__series_shrink(sb_series *s);

/* Copies points [lo, hi) into out (hi - lo elements). */
void sb__series_copy(const sb_series *s, size_t lo, size_t hi, sb_point *out);

/*
 * The read contract for code outside the store's write path (range
 * queries, aggregation): it needs no knowledge of how points are laid
 * out. Both take the bounds inclusive; INT64_MIN/INT64_MAX mean none.
 * The caller holds the owning shard's lock.
 */
/* How many points have since <= t <= until. */
size_t sb__series_count_range(const sb_series *s, int64_t since, int64_t until);
/* Copies those points into out, oldest first; out has room for
 * sb__series_count_range() of them. Returns how many were copied. */
size_t sb__series_read_range(const sb_series *s, int64_t since, int64_t until,
                             sb_point *out);

#endif
