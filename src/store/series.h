/*
 * series.h - one series: its identity and its samples in compressed
 * chunks.
 *
 * Identity is the canonical key "name\0k1\0v1\0...kN\0vN\0" with labels
 * sorted by key. Names, keys and values never contain NUL, so the key is
 * unambiguous, and comparing keys bytewise orders series by name first,
 * then by labels.
 *
 * Samples live in chunks[0..nchunks), oldest first, each a stream of the
 * codec in chunk.h. Invariants: chunks do not overlap in time and are in
 * time order; within a chunk times strictly increase (an equal time
 * replaces, never duplicates); the last chunk is the open one, the only one
 * appended to, and enc is the coder state after its last sample; npoints
 * is the sum of the chunks' n; bytes is what the chunks and the pointer
 * array allocate; last_t and window_t cache the newest time and the
 * out-of-order bound, so a write's checks need not touch the chunks. Points
 * older than floor (the last retention cutoff) may remain inside a kept chunk:
 * every read hides them. Only the owning shard's lock guards a series.
 */
#ifndef SB_STORE_SERIES_H
#define SB_STORE_SERIES_H

#include "scoreboard.h"
#include "store/chunk.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A chunk cuts at this many bytes of stream whatever its sample count. */
#define SB_CHUNK_MAX_BYTES 4096
/* Most samples a chunk is cut at (fewer with a small max_points). */
#define SB_CHUNK_MAX_SAMPLES 512
/* Late samples grow a chunk past its cut; at this many it is split. */
#define SB_CHUNK_SPLIT 1024

typedef struct sb_chunk {
    int64_t first_t, last_t;
    uint32_t n;      /* samples */
    uint32_t nbytes; /* bytes of stream in use */
    uint32_t cap;    /* bytes allocated for data */
    uint8_t data[];
} sb_chunk;

/* How a store cuts and caps the chunks of its series. */
typedef struct sb_series_limits {
    uint32_t chunk_samples; /* cut a chunk at this many samples */
    int64_t chunk_span;     /* ... or when it would span more than this */
    size_t max_points;      /* drop whole oldest chunks beyond */
} sb_series_limits;

typedef struct sb_series {
    uint64_t hash;
    char *key; /* canonical key; also holds the name and label strings */
    size_t key_len;
    size_t nlabels;
    sb_chunk **chunks;
    size_t nchunks, chunks_cap;
    sb_cstate enc;
    int64_t last_t;   /* newest sample's time; INT64_MIN when empty */
    int64_t window_t; /* times up to this are out of order (see below) */
    int64_t floor;
    size_t npoints;
    size_t bytes;
    size_t pending;       /* scratch for a batch write, under the shard lock: */
    int64_t pending_last; /* its samples and the time of the last one */
} sb_series;

/* Creates a series holding a copy of key. NULL when out of memory. */
sb_series *sb__series_new(const char *key, size_t key_len, uint64_t hash,
                          size_t nlabels);
void sb__series_free(sb_series *s);

/*
 * The out-of-order policy: whether a sample at time t may be written. The
 * window is the open chunk and the chunk sealed last before it: a series
 * takes any time while it has at most two chunks, and afterwards any time
 * newer than the newest sample of the chunk before those two. Newer times
 * append, equal times replace, and late ones re-encode the one of the two
 * chunks they fall in. Keeping the last sealed chunk rewritable means a
 * cut never shrinks the window to nothing: it always spans at least one
 * whole chunk, so writers racing each other by a few points are not
 * refused.
 */
bool sb__series_accepts(const sb_series *s, int64_t t);

/* Makes room in the chunk pointer array for more new chunks, so that a
 * batch cannot fail there half-way. 0 or SB_ENOMEM. */
int sb__series_reserve(sb_series *s, size_t more);

/*
 * Writes (t, v): appends when t is newer than every sample, otherwise
 * replaces the value at t or inserts it into the chunk whose time range
 * it falls in (decoding and re-encoding that chunk only). Then drops
 * whole oldest chunks while more than lim->max_points remain (never the
 * open one). Adds to *added the points the write added (0 or 1) and to
 * *dropped the points the cap dropped. 0 or SB_ENOMEM (nothing changed).
 */
int sb__series_put(sb_series *s, const sb_series_limits *lim, int64_t t,
                   double v, size_t *added, size_t *dropped);

/*
 * Writes the m points of pts, whose times strictly rise, as
 * sb__series_put() would one by one, but merges all the late points that
 * fall in one chunk with a single re-encode of it. Returns how many
 * points were written: m, or fewer when memory ran out.
 */
size_t sb__series_put_run(sb_series *s, const sb_series_limits *lim,
                          const sb_point *pts, size_t m, size_t *added,
                          size_t *dropped);

/* Drops whole chunks whose newest sample is older than cutoff and hides
 * older points of the kept ones; returns how many points were dropped. */
size_t sb__series_trim(sb_series *s, int64_t cutoff);

/* Drops the oldest chunk; returns its point count (0 when empty). */
size_t sb__series_drop_oldest(sb_series *s);

/* Time of the newest sample of the oldest chunk (INT64_MAX when empty):
 * the age memory eviction orders chunks by. */
static inline int64_t sb__series_oldest_chunk_end(const sb_series *s)
{
    return s->nchunks > 0 ? s->chunks[0]->last_t : INT64_MAX;
}

/* Returns unused memory of the chunk pointer array. */
void sb__series_shrink(sb_series *s);

/* The newest visible point. false when there is none. O(1). */
bool sb__series_last(const sb_series *s, sb_point *out);

/*
 * The read contract for code outside the store's write path (range
 * queries, aggregation): it needs no knowledge of how points are laid
 * out. Both take the bounds inclusive; INT64_MIN/INT64_MAX mean none.
 * Only chunks overlapping the range are decoded. The caller holds the
 * owning shard's lock.
 */
/* How many points have since <= t <= until. */
size_t sb__series_count_range(const sb_series *s, int64_t since, int64_t until);
/* Copies those points into out, oldest first; out has room for
 * sb__series_count_range() of them. Returns how many were copied. */
size_t sb__series_read_range(const sb_series *s, int64_t since, int64_t until,
                             sb_point *out);
/* sb__series_count_range() plus the first and last time counted (both 0
 * when none), decoding at most the two chunks a bound cuts. */
size_t sb__series_span(const sb_series *s, int64_t since, int64_t until,
                       int64_t *first, int64_t *last);

#endif
