/*
 * evict.c - the memory cap: when the store's sample bytes exceed
 * max_memory, the oldest chunks store-wide are dropped until the bytes
 * are 1/16 below the cap (the slack spares the writers an eviction on
 * every write once the store is full).
 *
 * A chunk's age is the time of its newest sample. An eviction takes two
 * passes over the shards, locking one shard at a time: the first lists
 * every chunk's age and size and picks the age T below which enough bytes
 * lie; the second drops, in every series, the leading chunks not newer
 * than T (a series' chunks are in time order, so they form a prefix).
 * Writes between the passes make the choice approximate, never unsafe.
 * One thread evicts at a time; a writer finding an eviction under way
 * carries on, so the cap can be passed by what concurrent writers add
 * meanwhile.
 */
#include "store/store_internal.h"

#include <stdlib.h>

typedef struct chunk_age {
    int64_t end;
    size_t bytes;
} chunk_age;

typedef struct age_list {
    chunk_age *v;
    size_t n, cap;
} age_list;

static int push_age(age_list *l, int64_t end, size_t bytes)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        chunk_age *v = realloc(l->v, cap * sizeof *v);

        if (v == NULL)
            return SB_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (chunk_age){end, bytes};
    return SB_OK;
}

static int cmp_age(const void *a, const void *b)
{
    const chunk_age *x = a, *y = b;

    return (x->end > y->end) - (x->end < y->end);
}

static int list_shard(sb_shard *sh, age_list *l)
{
    int rc = SB_OK;

    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < sh->nslots && rc == SB_OK; i++) {
        const sb_series *s = sh->slots[i];

        for (size_t j = 0; s != NULL && j < s->nchunks && rc == SB_OK; j++)
            rc = push_age(l, s->chunks[j]->last_t,
                          sizeof(sb_chunk) + s->chunks[j]->cap);
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* The age up to which chunks must go to free need bytes; INT64_MIN when
 * nothing can be freed or the list does not fit in memory. */
static int64_t pick_age(sb_store *st, size_t need)
{
    age_list l = {0};
    int64_t age = INT64_MIN;
    size_t sum = 0;

    for (size_t i = 0; i < SB_SHARDS; i++)
        if (list_shard(&st->shards[i], &l) != SB_OK)
            goto out;
    if (l.n == 0) /* the bytes left are chunk arrays, not chunks */
        goto out;
    qsort(l.v, l.n, sizeof *l.v, cmp_age);
    for (size_t i = 0; i < l.n && sum < need; i++) {
        sum += l.v[i].bytes;
        age = l.v[i].end;
    }

out:
    free(l.v);
    return age;
}

/* Drops every series' leading chunks not newer than age. Returns the
 * bytes freed. */
static size_t drop_up_to(sb_store *st, int64_t age)
{
    size_t freed = 0, points = 0;

    for (size_t i = 0; i < SB_SHARDS; i++) {
        sb_shard *sh = &st->shards[i];

        pthread_mutex_lock(&sh->mu);
        for (size_t j = 0; j < sh->nslots; j++) {
            sb_series *s = sh->slots[j];
            size_t before;

            if (s == NULL || sb__series_oldest_chunk_end(s) > age)
                continue;
            before = s->bytes;
            while (s->nchunks > 0 && sb__series_oldest_chunk_end(s) <= age)
                points += sb__series_drop_oldest(s);
            sb__series_shrink(s);
            freed += before - s->bytes;
        }
        pthread_mutex_unlock(&sh->mu);
    }
    atomic_fetch_sub(&st->sample_bytes, freed);
    atomic_fetch_sub(&st->npoints, points);
    atomic_fetch_add(&st->dropped_memory, points);
    return freed;
}

void sb__store_enforce_memory(sb_store *st)
{
    size_t cap = st->opts.max_memory, target = cap - cap / 16, bytes;

    if (cap == 0 || atomic_load(&st->sample_bytes) <= cap)
        return;
    if (atomic_flag_test_and_set(&st->evicting))
        return;
    while ((bytes = atomic_load(&st->sample_bytes)) > target) {
        int64_t age = pick_age(st, bytes - target);

        if (age == INT64_MIN || drop_up_to(st, age) == 0)
            break;
    }
    atomic_flag_clear(&st->evicting);
}
