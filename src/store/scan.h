/*
 * scan.h - a per-series copy-out of the points of a time range.
 *
 * sb__store_scan visits the shards one at a time. Under a shard's lock it
 * copies the keys and the points in range of that shard's matching series
 * into scratch buffers and releases the lock; only then does it hand each
 * series to the caller's function, one call per series with its points
 * oldest first. The function therefore runs with no lock held and may take
 * its time; the scratch buffers are reused from shard to shard, so memory
 * stays near one shard's worth of points.
 *
 * Series are visited in shard order, not in key order. Points are read
 * only through sb__series_count_range/sb__series_read_range.
 */
#ifndef SB_STORE_SCAN_H
#define SB_STORE_SCAN_H

#include "scoreboard.h"
#include "store/match.h"
#include "store/series.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sb_scan_filter {
    const char *const *names; /* exact names; NULL/0 = all */
    size_t nnames;
    const sb_matchset *ms; /* NULL = no matchers */
    int64_t since_ns;      /* inclusive */
    int64_t until_ns;      /* inclusive */
    size_t max_points;     /* SB_ETOOLARGE past this many in all; 0 = none */
} sb_scan_filter;

/* One series handed out by the scan; every pointer is valid only during
 * the call. key is the canonical key (see series.h). */
typedef struct sb_scan_series {
    const char *key;
    size_t key_len;
    size_t nlabels;
    const sb_point *pts;
    size_t npts; /* at least 1 */
} sb_scan_series;

/* Returns 0 to go on or a negative code, which ends the scan with it. */
typedef int (*sb_scan_fn)(void *ud, const sb_scan_series *s);

/*
 * Calls fn for every series that matches f and has at least one point in
 * [since_ns, until_ns]. Returns 0, SB_ETOOLARGE when more than max_points
 * points are in range (checked before they are copied), SB_ENOMEM, or
 * fn's code.
 */
int sb__store_scan(sb_store *st, const sb_scan_filter *f, sb_scan_fn fn,
                   void *ud);

#endif
