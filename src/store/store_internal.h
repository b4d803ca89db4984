/*
 * store_internal.h - the store's layout, shared by the write path
 * (store.c) and the read path (query.c).
 */
#ifndef SB_STORE_STORE_INTERNAL_H
#define SB_STORE_STORE_INTERNAL_H

#include "common/hash.h"
#include "scoreboard.h"
#include "store/series.h"

#include <pthread.h>
#include <stdatomic.h>

#define SB_SHARDS 64 /* a power of two; a shard is hash >> 58 */

typedef struct sb_shard {
    pthread_mutex_t mu;
    sb_series **slots; /* nslots entries, NULL = empty */
    size_t nslots;     /* 0 or a power of two */
    size_t count;
} sb_shard;

struct sb_store {
    sb_store_options opts;
    uint8_t hash_key[16];
    _Atomic size_t nseries;
    _Atomic size_t npoints;
    _Atomic uint64_t dropped_retention;
    _Atomic uint64_t dropped_capacity;
    _Atomic uint64_t rejected_series;
    _Atomic size_t sample_bytes;
    _Atomic uint64_t dropped_memory;
    _Atomic uint64_t rejected_ooo;
    atomic_flag evicting; /* one memory eviction at a time */
    sb_series_limits limits;
    sb_shard shards[SB_SHARDS];
};

sb_series *sb__shard_find(const sb_shard *sh, uint64_t hash, const char *key,
                          size_t key_len);
void sb__shard_remove_at(sb_shard *sh, size_t i);

/* Evicts the oldest chunks store-wide while the sample bytes exceed
 * max_memory (evict.c). Called with no shard lock held. */
void sb__store_enforce_memory(sb_store *st);

#endif
