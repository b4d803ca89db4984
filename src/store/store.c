/*
 * store.c - the sharded series store: writes, retention and limits.
 *
 * The store is SB_SHARDS independent shards, each a mutex and an
 * open-addressing hash table (linear probing, power-of-two size, at most
 * 3/4 full) of series pointers. A series lives in the shard picked by its
 * keyed hash, so writers to different series rarely meet.
 *
 * A batch write validates and canonicalises every sample without any
 * lock, then locks every shard it touches in ascending index order (so
 * two batches can never deadlock), creates missing series, applies the
 * out-of-order policy (series.h) to every sample, reserves chunk slots,
 * and only then writes. Every refusal happens before the first write,
 * which is what makes a batch all-or-nothing: on any failure before it,
 * the series this batch created are removed again and nothing is visible
 * to readers. (Only an allocation failure while coding a sample can drop
 * that one sample; it is counted as dropped for memory.) After the locks
 * are released, a write that took the sample bytes past max_memory evicts
 * the oldest chunks (evict.c).
 *
 * The series count is an atomic shared by all shards so max_series holds
 * exactly even when shards create series concurrently.
 */
#include "store/store_internal.h"

#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

static const char *const R_NAME_EMPTY = "name is required";
static const char *const R_NAME_LONG = "name is longer than 255 bytes";
static const char *const R_NAME_SYNTAX =
    "name must match [A-Za-z_:][A-Za-z0-9_:.-]*";
static const char *const R_LABELS_MANY = "more than 32 labels";
static const char *const R_KEY_SYNTAX =
    "label key must match [A-Za-z_][A-Za-z0-9_]*";
static const char *const R_KEY_LONG = "label key is longer than 127 bytes";
static const char *const R_VALUE_NULL = "label value is missing";
static const char *const R_VALUE_LONG = "label value is longer than 1024 bytes";
static const char *const R_VALUE_UTF8 = "label value is not valid UTF-8";
static const char *const R_KEY_DUP = "duplicate label key";
static const char *const R_TIME_OLD = "time is older than the retention window";
static const char *const R_TIME_FUTURE = "time is too far in the future";
static const char *const R_SERIES_LIMIT =
    "series limit reached: the store holds the maximum number of series";
static const char *const R_NOMEM = "out of memory";
static const char *const R_OUT_OF_ORDER =
    "time is older than the series' out-of-order window (its two newest "
    "chunks)";

#define DEFAULT_MAX_MEMORY ((size_t)256 << 20)

void sb_store_options_init(sb_store_options *opts)
{
    opts->retention_ns = INT64_C(3600) * 1000000000;
    opts->max_points_per_series = 10000;
    opts->max_series = 10000;
    opts->max_future_ns = INT64_C(600) * 1000000000;
    opts->max_memory = DEFAULT_MAX_MEMORY;
}

/* Chunks hold up to SB_CHUNK_MAX_SAMPLES samples but at most a quarter of
 * max_points (so the cap, which drops whole chunks, keeps at least three
 * quarters of it), and span at most an eighth of the retention window (so
 * whole-chunk retention keeps little beyond the window). */
static void set_limits(sb_store *st)
{
    size_t per = st->opts.max_points_per_series / 4;

    if (per > SB_CHUNK_MAX_SAMPLES)
        per = SB_CHUNK_MAX_SAMPLES;
    st->limits.chunk_samples = per > 0 ? (uint32_t)per : 1;
    st->limits.chunk_span = st->opts.retention_ns / 8;
    if (st->limits.chunk_span < 1)
        st->limits.chunk_span = 1;
    st->limits.max_points = st->opts.max_points_per_series;
}

int sb_store_create(const sb_store_options *opts, sb_store **out)
{
    sb_store *st;
    size_t i;

    *out = NULL;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return SB_ENOMEM;
    if (opts != NULL)
        st->opts = *opts;
    else
        sb_store_options_init(&st->opts);
    if (st->opts.retention_ns <= 0 || st->opts.max_points_per_series == 0 ||
        st->opts.max_series == 0 || st->opts.max_future_ns < 0) {
        free(st);
        return SB_EINVAL;
    }
    sb__hash_random_key(st->hash_key);
    set_limits(st);
    atomic_flag_clear(&st->evicting);

    for (i = 0; i < SB_SHARDS; i++) {
        if (pthread_mutex_init(&st->shards[i].mu, NULL) != 0)
            break;
    }
    if (i < SB_SHARDS) {
        while (i-- > 0)
            pthread_mutex_destroy(&st->shards[i].mu);
        free(st);
        return SB_ESYS;
    }
    *out = st;
    return SB_OK;
}

void sb_store_destroy(sb_store *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < SB_SHARDS; i++) {
        sb_shard *sh = &st->shards[i];

        for (size_t j = 0; j < sh->nslots; j++)
            sb__series_free(sh->slots[j]);
        free(sh->slots);
        pthread_mutex_destroy(&sh->mu);
    }
    free(st);
}

/* ------------------------------------------------------------ hash table */

sb_series *sb__shard_find(const sb_shard *sh, uint64_t hash, const char *key,
                          size_t key_len)
{
    size_t mask, i;

    if (sh->nslots == 0)
        return NULL;
    mask = sh->nslots - 1;
    for (i = hash & mask; sh->slots[i] != NULL; i = (i + 1) & mask) {
        const sb_series *s = sh->slots[i];

        if (s->hash == hash && s->key_len == key_len &&
            memcmp(s->key, key, key_len) == 0)
            return sh->slots[i];
    }
    return NULL;
}

static void table_put(sb_series **slots, size_t nslots, sb_series *s)
{
    size_t mask = nslots - 1, i = s->hash & mask;

    while (slots[i] != NULL)
        i = (i + 1) & mask;
    slots[i] = s;
}

/* Makes room for one more series. 0 or SB_ENOMEM. */
static int shard_grow(sb_shard *sh)
{
    size_t n = sh->nslots ? sh->nslots * 2 : 16;
    sb_series **slots;

    if ((sh->count + 1) * 4 <= sh->nslots * 3)
        return SB_OK;
    slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        return SB_ENOMEM;
    for (size_t i = 0; i < sh->nslots; i++)
        if (sh->slots[i] != NULL)
            table_put(slots, n, sh->slots[i]);
    free(sh->slots);
    sh->slots = slots;
    sh->nslots = n;
    return SB_OK;
}

/* Removes the series in slot i with backward-shift deletion, which keeps
 * every remaining series reachable from its home slot without tombstones.
 * Does not free the series. */
void sb__shard_remove_at(sb_shard *sh, size_t i)
{
    size_t mask = sh->nslots - 1, hole = i, j = i;

    for (;;) {
        size_t home;

        j = (j + 1) & mask;
        if (sh->slots[j] == NULL)
            break;
        home = sh->slots[j]->hash & mask;
        /* Move j into the hole unless its home lies cyclically in
         * (hole, j], in which case it must stay where it is. */
        if ((hole <= j) ? (home <= hole || home > j)
                        : (home <= hole && home > j)) {
            sh->slots[hole] = sh->slots[j];
            hole = j;
        }
    }
    sh->slots[hole] = NULL;
    sh->count--;
}

static void shard_remove(sb_shard *sh, const sb_series *s)
{
    size_t mask = sh->nslots - 1;

    for (size_t i = s->hash & mask; sh->slots[i] != NULL; i = (i + 1) & mask)
        if (sh->slots[i] == s) {
            sb__shard_remove_at(sh, i);
            return;
        }
}

/* ------------------------------------------------------------ validation */

static bool is_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static const char *check_name(const char *name)
{
    size_t n;

    if (name == NULL || name[0] == '\0')
        return R_NAME_EMPTY;
    n = strnlen(name, SB_NAME_MAX + 1);
    if (n > SB_NAME_MAX)
        return R_NAME_LONG;
    if (!is_name_start((unsigned char)name[0]) && name[0] != ':')
        return R_NAME_SYNTAX;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if (!is_name_start(c) && !is_digit(c) && c != ':' && c != '.' &&
            c != '-')
            return R_NAME_SYNTAX;
    }
    return NULL;
}

static const char *check_key(const char *key)
{
    size_t n;

    if (key == NULL || !is_name_start((unsigned char)key[0]))
        return R_KEY_SYNTAX;
    n = strnlen(key, SB_LABEL_KEY_MAX + 1);
    if (n > SB_LABEL_KEY_MAX)
        return R_KEY_LONG;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)key[i];

        if (!is_name_start(c) && !is_digit(c))
            return R_KEY_SYNTAX;
    }
    return NULL;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = p[i];
        size_t k;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += k + 1;
    }
    return true;
}

static const char *check_value(const char *value)
{
    size_t n;

    if (value == NULL)
        return R_VALUE_NULL;
    n = strnlen(value, SB_LABEL_VALUE_MAX + 1);
    if (n > SB_LABEL_VALUE_MAX)
        return R_VALUE_LONG;
    if (!utf8_valid((const unsigned char *)value, n))
        return R_VALUE_UTF8;
    return NULL;
}

/* ------------------------------------------------------------ batch write */

/* A sample after validation: its canonical key sits in the batch's key
 * buffer at key_off. */
typedef struct prepared {
    size_t key_off, key_len;
    uint64_t hash;
    size_t nlabels;
    unsigned shard;
    sb_series *series; /* found or created under the lock */
} prepared;

/*
 * Validates s and appends its canonical key to keys. Returns NULL or the
 * reason it is refused; *rc gets the matching code.
 */
static const char *prepare(const sb_store *st, const sb_sample *s, int64_t now,
                           sb_buf *keys, prepared *p, int *rc)
{
    const sb_label *sorted[SB_LABELS_MAX];
    const char *why;
    size_t start = keys->len;

    *rc = SB_EINVAL;
    if ((why = check_name(s->name)) != NULL)
        return why;
    if (s->nlabels > SB_LABELS_MAX)
        return R_LABELS_MANY;
    if (s->nlabels > 0 && s->labels == NULL)
        return R_KEY_SYNTAX;

    /* Insertion sort: at most 32 labels. */
    for (size_t i = 0; i < s->nlabels; i++) {
        const sb_label *l = &s->labels[i];
        size_t j = i;

        if ((why = check_key(l->key)) != NULL ||
            (why = check_value(l->value)) != NULL)
            return why;
        while (j > 0 && strcmp(sorted[j - 1]->key, l->key) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = l;
    }
    for (size_t i = 1; i < s->nlabels; i++)
        if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0)
            return R_KEY_DUP;

    *rc = SB_ERANGE;
    if (s->time_ns < now - st->opts.retention_ns)
        return R_TIME_OLD;
    if (s->time_ns > now + st->opts.max_future_ns)
        return R_TIME_FUTURE;

    *rc = SB_ENOMEM;
    if (sb__buf_append(keys, s->name, strlen(s->name) + 1) != SB_OK)
        return R_NOMEM;
    for (size_t i = 0; i < s->nlabels; i++) {
        if (sb__buf_append(keys, sorted[i]->key, strlen(sorted[i]->key) + 1) ||
            sb__buf_append(keys, sorted[i]->value,
                           strlen(sorted[i]->value) + 1))
            return R_NOMEM;
    }
    p->key_off = start;
    p->key_len = keys->len - start;
    p->hash = sb__siphash24(st->hash_key, keys->data + start, p->key_len);
    p->shard = (unsigned)(p->hash >> 58); /* top bits: table uses low bits */
    p->nlabels = s->nlabels;
    p->series = NULL;
    *rc = SB_OK;
    return NULL;
}

static void lock_shards(sb_store *st, uint64_t mask)
{
    for (unsigned i = 0; i < SB_SHARDS; i++)
        if (mask & (UINT64_C(1) << i))
            pthread_mutex_lock(&st->shards[i].mu);
}

static void unlock_shards(sb_store *st, uint64_t mask)
{
    for (unsigned i = SB_SHARDS; i-- > 0;)
        if (mask & (UINT64_C(1) << i))
            pthread_mutex_unlock(&st->shards[i].mu);
}

/* Creates the series for p in its shard, counting it against max_series.
 * Returns NULL with *rc set on failure. */
static sb_series *create_series(sb_store *st, const prepared *p,
                                const char *key, int *rc)
{
    sb_shard *sh = &st->shards[p->shard];
    size_t n = atomic_fetch_add(&st->nseries, 1);
    sb_series *s;

    if (n >= st->opts.max_series) {
        atomic_fetch_sub(&st->nseries, 1);
        *rc = SB_ELIMIT;
        return NULL;
    }
    s = sb__series_new(key, p->key_len, p->hash, p->nlabels);
    if (s == NULL || shard_grow(sh) != SB_OK) {
        sb__series_free(s);
        atomic_fetch_sub(&st->nseries, 1);
        *rc = SB_ENOMEM;
        return NULL;
    }
    table_put(sh->slots, sh->nslots, s);
    sh->count++;
    return s;
}

/* Undoes the series created by a failed batch (they hold no points yet)
 * and clears the pending marks of every series it touched. */
static void rollback(sb_store *st, prepared *ps, size_t n, sb_series **made,
                     size_t nmade)
{
    for (size_t i = 0; i < n; i++)
        if (ps[i].series != NULL)
            ps[i].series->pending = 0;
    for (size_t i = 0; i < nmade; i++) {
        shard_remove(&st->shards[made[i]->hash >> 58], made[i]);
        atomic_fetch_sub(&st->sample_bytes, made[i]->bytes);
        sb__series_free(made[i]);
        atomic_fetch_sub(&st->nseries, 1);
    }
}

/*
 * Phase one under the locks: finds or creates every series, applies the
 * out-of-order policy to every sample against the series as they are
 * before the batch, and reserves chunk slots. On failure sets err and
 * undoes its work, so nothing is visible. Sets *late when a sample is
 * not newer than its series' newest point or than the batch's previous
 * sample for that series (it is then not a plain append).
 */
static int resolve_and_reserve(sb_store *st, const sb_sample *samples,
                               prepared *ps, size_t n, const char *keys,
                               sb_series **made, bool *late,
                               sb_write_error *err)
{
    size_t nmade = 0, chunk = st->limits.chunk_samples;
    int rc = SB_OK;
    size_t i;

    for (i = 0; i < n; i++) {
        prepared *p = &ps[i];
        const char *key = keys + p->key_off;

        p->series =
            sb__shard_find(&st->shards[p->shard], p->hash, key, p->key_len);
        if (p->series == NULL) {
            p->series = create_series(st, p, key, &rc);
            if (p->series == NULL)
                goto fail;
            made[nmade++] = p->series;
        }
        if ((p->series->pending > 0 &&
             samples[i].time_ns <= p->series->pending_last) ||
            samples[i].time_ns <= p->series->last_t)
            *late = true;
        p->series->pending_last = samples[i].time_ns;
        p->series->pending++;
    }
    for (i = 0; i < n; i++) {
        if (!sb__series_accepts(ps[i].series, samples[i].time_ns)) {
            rc = SB_ERANGE;
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        sb_series *s = ps[i].series;

        size_t before = s->bytes;

        rc = sb__series_reserve(s, s->pending / chunk + 1);
        atomic_fetch_add(&st->sample_bytes, s->bytes - before);
        if (rc != SB_OK)
            goto fail;
    }
    return SB_OK;

fail:
    if (rc == SB_ELIMIT)
        atomic_fetch_add(&st->rejected_series, 1);
    if (rc == SB_ERANGE)
        atomic_fetch_add(&st->rejected_ooo, 1);
    err->index = i;
    err->reason = rc == SB_ELIMIT   ? R_SERIES_LIMIT
                  : rc == SB_ERANGE ? R_OUT_OF_ORDER
                                    : R_NOMEM;
    rollback(st, ps, n, made, nmade);
    return rc;
}

typedef struct order_key {
    uintptr_t series;
    int64_t t;
    size_t i;
} order_key;

static int cmp_order(const void *a, const void *b)
{
    const order_key *x = a, *y = b;

    if (x->series != y->series)
        return x->series < y->series ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Sorts the batch by series, then time, then position. NULL when out of
 * memory. */
static order_key *batch_order(const prepared *ps, const sb_sample *samples,
                              size_t n)
{
    order_key *keys = malloc(n * sizeof *keys);

    if (keys == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        keys[i] = (order_key){(uintptr_t)ps[i].series, samples[i].time_ns, i};
    qsort(keys, n, sizeof *keys, cmp_order);
    return keys;
}

/* Running totals of phase two. */
typedef struct write_tally {
    size_t added, dropped, lost, grown, freed;
} write_tally;

static void tally_bytes(write_tally *w, size_t before, size_t after)
{
    if (after >= before)
        w->grown += after - before;
    else
        w->freed += before - after;
}

/* Writes every sample in batch order: the fast path, for batches that
 * only append. */
static void write_in_order(sb_store *st, const sb_sample *samples,
                           const prepared *ps, size_t n, write_tally *w)
{
    for (size_t i = 0; i < n; i++) {
        sb_series *s = ps[i].series;
        size_t before = s->bytes;

        if (sb__series_put(s, &st->limits, samples[i].time_ns, samples[i].value,
                           &w->added, &w->dropped) != SB_OK)
            w->lost++;
        tally_bytes(w, before, s->bytes);
    }
}

/*
 * Writes a batch with late samples series by series, each series' samples
 * as one time-ordered run (of two samples with one time the later in the
 * batch wins), so the late samples of one chunk cost one re-encode of it.
 * Returns false, having written nothing, when out of memory.
 */
static bool write_by_series(sb_store *st, const sb_sample *samples,
                            const prepared *ps, size_t n, write_tally *w)
{
    order_key *keys = batch_order(ps, samples, n);
    sb_point *run = malloc(n * sizeof *run);
    size_t k = 0;

    if (keys == NULL || run == NULL) {
        free(keys);
        free(run);
        return false;
    }
    while (k < n) {
        sb_series *s = ps[keys[k].i].series;
        size_t m = 0, before = s->bytes;

        for (; k < n && ps[keys[k].i].series == s; k++) {
            const sb_sample *x = &samples[keys[k].i];

            if (m > 0 && run[m - 1].t == x->time_ns)
                run[m - 1].v = x->value;
            else
                run[m++] = (sb_point){x->time_ns, x->value};
        }
        w->lost += m - sb__series_put_run(s, &st->limits, run, m, &w->added,
                                          &w->dropped);
        tally_bytes(w, before, s->bytes);
    }
    free(keys);
    free(run);
    return true;
}

/*
 * Phase two under the locks. It fails only when an allocation fails, and
 * then only for the samples concerned, which are counted as dropped for
 * memory (see the README's limitations): everything that can be refused
 * was refused in phase one.
 */
static void insert_all(sb_store *st, const sb_sample *samples, prepared *ps,
                       size_t n, int64_t cutoff, bool late)
{
    write_tally w = {0};
    size_t expired = 0;

    if (!late || !write_by_series(st, samples, ps, n, &w))
        write_in_order(st, samples, ps, n, &w);
    for (size_t i = 0; i < n; i++) {
        sb_series *s = ps[i].series;
        size_t before = s->bytes;

        if (s->pending == 0)
            continue;
        s->pending = 0;
        expired += sb__series_trim(s, cutoff);
        w.freed += before - s->bytes;
    }
    atomic_fetch_add(&st->sample_bytes, w.grown);
    atomic_fetch_sub(&st->sample_bytes, w.freed);
    atomic_fetch_add(&st->npoints, w.added);
    atomic_fetch_sub(&st->npoints, expired + w.dropped);
    if (w.dropped)
        atomic_fetch_add(&st->dropped_capacity, w.dropped);
    if (expired)
        atomic_fetch_add(&st->dropped_retention, expired);
    if (w.lost)
        atomic_fetch_add(&st->dropped_memory, w.lost);
}

/* Keys of a small batch are built in a stack buffer; larger ones grow a
 * heap buffer through sb_buf. */
int sb_store_write_batch(sb_store *st, const sb_sample *samples, size_t n,
                         sb_write_error *err)
{
    sb_write_error dummy;
    prepared one, *ps = &one;
    sb_series *made_one, **made = &made_one;
    sb_buf keys;
    uint64_t mask = 0;
    int64_t now;
    bool late = false;
    int rc = SB_OK;

    if (err == NULL)
        err = &dummy;
    err->index = 0;
    err->reason = NULL;
    if (st == NULL || (samples == NULL && n > 0))
        return SB_EINVAL;
    if (n == 0)
        return SB_OK;

    sb__buf_init(&keys, SIZE_MAX);
    if (n > 1) {
        ps = malloc(n * sizeof *ps);
        made = malloc(n * sizeof *made);
        if (ps == NULL || made == NULL) {
            err->reason = R_NOMEM;
            rc = SB_ENOMEM;
            goto out;
        }
    }

    now = sb_time_now();
    for (size_t i = 0; i < n; i++) {
        const char *why = prepare(st, &samples[i], now, &keys, &ps[i], &rc);

        if (why != NULL) {
            err->index = i;
            err->reason = why;
            goto out;
        }
        mask |= UINT64_C(1) << ps[i].shard;
    }

    lock_shards(st, mask);
    rc = resolve_and_reserve(st, samples, ps, n, keys.data, made, &late, err);
    if (rc == SB_OK)
        insert_all(st, samples, ps, n, now - st->opts.retention_ns, late);
    unlock_shards(st, mask);
    if (rc == SB_OK)
        sb__store_enforce_memory(st);

out:
    if (ps != &one)
        free(ps);
    if (made != &made_one)
        free(made);
    sb__buf_free(&keys);
    return rc;
}

int sb_store_write(sb_store *st, const sb_sample *sample)
{
    return sb_store_write_batch(st, sample, 1, NULL);
}

size_t sb_store_sweep(sb_store *st, int64_t now_ns)
{
    int64_t cutoff = now_ns - st->opts.retention_ns;
    size_t removed = 0, expired = 0, freed = 0;

    for (size_t i = 0; i < SB_SHARDS; i++) {
        sb_shard *sh = &st->shards[i];
        size_t j = 0, before;

        pthread_mutex_lock(&sh->mu);
        while (j < sh->nslots) {
            sb_series *s = sh->slots[j];

            if (s == NULL) {
                j++;
                continue;
            }
            before = s->bytes;
            expired += sb__series_trim(s, cutoff);
            if (s->npoints > 0) {
                sb__series_shrink(s);
                freed += before - s->bytes;
                j++;
                continue;
            }
            /* Another series may shift into slot j: look at it again. */
            sb__shard_remove_at(sh, j);
            freed += before;
            sb__series_free(s);
            removed++;
        }
        pthread_mutex_unlock(&sh->mu);
    }
    atomic_fetch_sub(&st->nseries, removed);
    atomic_fetch_sub(&st->sample_bytes, freed);
    atomic_fetch_sub(&st->npoints, expired);
    atomic_fetch_add(&st->dropped_retention, expired);
    return removed;
}

void sb_store_stats_get(sb_store *st, sb_store_stats *out)
{
    out->series = atomic_load(&st->nseries);
    out->points = atomic_load(&st->npoints);
    out->dropped_retention = atomic_load(&st->dropped_retention);
    out->dropped_capacity = atomic_load(&st->dropped_capacity);
    out->rejected_series = atomic_load(&st->rejected_series);
    out->sample_bytes = atomic_load(&st->sample_bytes);
    out->dropped_memory = atomic_load(&st->dropped_memory);
    out->rejected_out_of_order = atomic_load(&st->rejected_ooo);
}
