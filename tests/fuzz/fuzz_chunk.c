/*
 * fuzz_chunk.c - libFuzzer target for the sample codec (src/store/chunk.c).
 *
 * The first input byte picks the mode:
 *   even  decode: 8 bytes of first time, 2 bytes of sample count (at most
 *         4096), then the stream. Decoding arbitrary bytes must never read
 *         outside them (ASan) and either fail or yield samples that, coded
 *         again, decode to the same bits.
 *   odd   encode: the rest is read as 16-byte (time, value bits) samples;
 *         encoding them, decoding the stream and appending the second half
 *         after a decode of the first must all round-trip bit for bit.
 * A broken invariant aborts, which libFuzzer reports as a crash.
 */
#include "store/chunk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

#define MAX_SAMPLES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const sb_point *a, const sb_point *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i].t != b[i].t || memcmp(&a[i].v, &b[i].v, sizeof a[i].v) != 0)
            return false;
    return true;
}

/* Encodes pts, decodes them back and checks the bits; also continues a
 * decoded prefix with appends. */
static void roundtrip(const sb_point *pts, uint32_t n)
{
    size_t room = ((size_t)n + 1) * SB_CHUNK_SAMPLE_MAX_BYTES;
    uint8_t *buf = calloc(1, room), *copy = NULL;
    sb_point *out = malloc(((size_t)n + 1) * sizeof *out);
    sb_cstate st, half;
    uint32_t k = n / 2;

    CHECK(buf != NULL && out != NULL);
    sb__chunk_encode(pts, n, buf, &st);
    CHECK(sb__chunk_decode(buf, sb__cstate_bytes(&st), pts[0].t, n, out,
                           NULL) == 0);
    CHECK(same(pts, out, n));

    /* Decode the first half of a fresh stream, append the rest. */
    if (k > 0) {
        copy = calloc(1, room);
        CHECK(copy != NULL);
        sb__chunk_encode(pts, k, copy, &half);
        CHECK(sb__chunk_decode(copy, sb__cstate_bytes(&half), pts[0].t, k, out,
                               &half) == 0);
        for (uint32_t i = k; i < n; i++)
            sb__chunk_append(&half, copy, pts[i].t, pts[i].v);
        CHECK(half.nbits == st.nbits);
        CHECK(memcmp(copy, buf, sb__cstate_bytes(&st)) == 0);
    }
    free(copy);
    free(out);
    free(buf);
}

static void fuzz_decode(const uint8_t *data, size_t size)
{
    int64_t first;
    uint16_t n;
    sb_point *out;
    sb_chunk_iter it;
    sb_point p;
    uint32_t got = 0;
    int rc;

    if (size < 10)
        return;
    memcpy(&first, data, 8);
    memcpy(&n, data + 8, 2);
    if (n == 0 || n > MAX_SAMPLES)
        return;
    data += 10;
    size -= 10;
    out = malloc(n * sizeof *out);
    CHECK(out != NULL);
    rc = sb__chunk_decode(data, size, first, n, out, NULL);
    CHECK(rc == 0 || rc == -1);

    /* The iterator agrees with the bulk decoder. */
    sb__chunk_iter_init(&it, data, size, first, n);
    while ((rc = sb__chunk_iter_next(&it, &p)) == 1) {
        CHECK(got < n);
        got++;
    }
    CHECK(rc == 0 ? got == n : rc == -1);

    if (got == n)
        roundtrip(out, n);
    free(out);
}

static void fuzz_encode(const uint8_t *data, size_t size)
{
    uint32_t n = (uint32_t)(size / 16);
    sb_point *pts;

    if (n == 0)
        return;
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    pts = malloc(n * sizeof *pts);
    CHECK(pts != NULL);
    for (uint32_t i = 0; i < n; i++) {
        memcpy(&pts[i].t, data + 16 * i, 8);
        memcpy(&pts[i].v, data + 16 * i + 8, 8);
    }
    roundtrip(pts, n);
    free(pts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        fuzz_decode(data + 1, size - 1);
    else
        fuzz_encode(data + 1, size - 1);
    return 0;
}
