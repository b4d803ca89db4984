/*
 * hash.c - SipHash-2-4 (Aumasson and Bernstein), written from the
 * algorithm's description: 64-bit output, 128-bit key, two compression
 * rounds per 8-byte word and four finalisation rounds.
 */
#include "common/hash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
}

uint64_t sb__siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                     k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
    uint64_t m, last = (uint64_t)len << 56;
    size_t words = len / 8, tail = len % 8;

    for (size_t i = 0; i < words; i++, p += 8) {
        m = load_le64(p);
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
    }

    for (size_t i = 0; i < tail; i++)
        last |= (uint64_t)p[i] << (8 * i);
    v[3] ^= last;
    sip_round(v);
    sip_round(v);
    v[0] ^= last;

    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void sb__hash_random_key(uint8_t key[16])
{
    struct timespec ts;
    uint64_t a, b;

    if (getrandom(key, 16, GRND_NONBLOCK) == 16)
        return;
    /* No entropy yet (early boot): weaker, but still per-process. */
    clock_gettime(CLOCK_REALTIME, &ts);
    a = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
    b = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)key;
    memcpy(key, &a, 8);
    memcpy(key + 8, &b, 8);
}
