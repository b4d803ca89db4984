/*
 * scan.c - per-series copy-out of a time range (see scan.h).
 *
 * Per shard: under the lock, each matching series' key is appended to
 * keys and its points to pts, with an entry recording where they went;
 * after the unlock the entries are handed to the callback. The points of
 * every series are counted first, so the max_points cap is checked before
 * anything is copied and the copy is one exact-size read.
 */
#include "store/scan.h"

#include "common/buf.h"
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct scan_entry {
    size_t key_off, key_len, nlabels;
    size_t pts_off, npts;
} scan_entry;

typedef struct scanner {
    const sb_scan_filter *f;
    sb_buf keys;
    scan_entry *ents;
    size_t nents, ents_cap;
    sb_point *pts;
    size_t npts, pts_cap;
    size_t total; /* points in range so far, all shards */
} scanner;

static bool name_ok(const sb_scan_filter *f, const sb_series *s)
{
    if (f->nnames == 0)
        return true;
    for (size_t i = 0; i < f->nnames; i++)
        if (strcmp(f->names[i], s->key) == 0)
            return true;
    return false;
}

/* Copies one series out. Runs under the shard lock. */
static int copy_series(scanner *sc, const sb_series *s)
{
    const sb_scan_filter *f = sc->f;
    size_t n = sb__series_count_range(s, f->since_ns, f->until_ns);
    scan_entry *e;

    if (n == 0)
        return SB_OK;
    sc->total += n;
    if (f->max_points > 0 && sc->total > f->max_points)
        return SB_ETOOLARGE;
    if (sb__array_grow((void **)&sc->ents, &sc->ents_cap, sc->nents + 1,
                       sizeof *sc->ents, 64) != SB_OK ||
        sb__array_grow((void **)&sc->pts, &sc->pts_cap, sc->npts + n,
                       sizeof *sc->pts, 64) != SB_OK ||
        sb__buf_append(&sc->keys, s->key, s->key_len) != SB_OK)
        return SB_ENOMEM;

    e = &sc->ents[sc->nents++];
    e->key_off = sc->keys.len - s->key_len;
    e->key_len = s->key_len;
    e->nlabels = s->nlabels;
    e->pts_off = sc->npts;
    e->npts =
        sb__series_read_range(s, f->since_ns, f->until_ns, sc->pts + sc->npts);
    sc->npts += e->npts;
    return SB_OK;
}

static int copy_shard(scanner *sc, sb_shard *sh)
{
    const sb_scan_filter *f = sc->f;
    int rc = SB_OK;

    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < sh->nslots && rc == SB_OK; i++) {
        const sb_series *s = sh->slots[i];

        if (s == NULL || !name_ok(f, s))
            continue;
        if (f->ms != NULL &&
            !sb__matchset_test(f->ms, s->key, s->key_len, s->nlabels))
            continue;
        rc = copy_series(sc, s);
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Hands the copied series to fn, with no lock held. */
static int deliver(scanner *sc, sb_scan_fn fn, void *ud)
{
    int rc = SB_OK;

    for (size_t i = 0; i < sc->nents && rc == SB_OK; i++) {
        const scan_entry *e = &sc->ents[i];
        sb_scan_series s = {sc->keys.data + e->key_off, e->key_len, e->nlabels,
                            sc->pts + e->pts_off, e->npts};

        if (s.npts > 0)
            rc = fn(ud, &s);
    }
    sc->nents = 0;
    sc->npts = 0;
    sb__buf_reset(&sc->keys);
    return rc;
}

int sb__store_scan(sb_store *st, const sb_scan_filter *f, sb_scan_fn fn,
                   void *ud)
{
    scanner sc;
    int rc = SB_OK;

    memset(&sc, 0, sizeof sc);
    sc.f = f;
    sb__buf_init(&sc.keys, SIZE_MAX);
    if (f->since_ns > f->until_ns)
        goto out;
    for (size_t i = 0; i < SB_SHARDS && rc == SB_OK; i++) {
        rc = copy_shard(&sc, &st->shards[i]);
        if (rc == SB_OK)
            rc = deliver(&sc, fn, ud);
    }

out:
    sb__buf_free(&sc.keys);
    free(sc.ents);
    free(sc.pts);
    return rc;
}
