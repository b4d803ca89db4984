/*
 * hash.h - keyed hashing for tables fed by untrusted input.
 *
 * Series keys come from clients, so the store hashes them with SipHash-2-4
 * under a per-store random key: a client cannot precompute keys that
 * collide and degrade lookups to linear scans.
 */
#ifndef SB_COMMON_HASH_H
#define SB_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t sb__siphash24(const uint8_t key[16], const void *data, size_t len);
/* Fills key with 16 bytes from getrandom(), or a time-based fallback. */
void sb__hash_random_key(uint8_t key[16]);

#endif
