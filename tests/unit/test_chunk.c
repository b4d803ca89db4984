/*
 * test_chunk.c - the sample codec: bit-exact round trips of random and
 * adversarial sequences, appending after a decode, hostile streams, and
 * the sizes the format promises for common shapes.
 *
 * The property test codes a few million samples in the default build
 * (about a second); under a sanitizer it codes a tenth of them.
 * SB_CHUNK_TEST_SAMPLES=N overrides the count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/chunk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CHUNK_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHUNK_SANITIZED 1
#endif

#define SEC    INT64_C(1000000000)
#define MAXSEQ 1200

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double from_bits(uint64_t b)
{
    double v;

    memcpy(&v, &b, sizeof v);
    return v;
}

static uint64_t to_bits(double v)
{
    uint64_t b;

    memcpy(&b, &v, sizeof b);
    return b;
}

/* A value of one of the shapes metrics take, or a hostile one. */
static double gen_value(unsigned mode, double prev, size_t i)
{
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    static const double special[] = {INFINITY,
                                     -INFINITY,
                                     -0.0,
                                     0.0,
                                     5e-324,
                                     -5e-324,
                                     2.2250738585072014e-308,
                                     1.7976931348623157e308};

    switch (mode) {
    case 0: /* any bits: NaN payloads, subnormals, everything */
        return from_bits(rnd());
    case 1: /* NaN with a random payload and sign */
        return from_bits(UINT64_C(0x7ff0000000000001) |
                         (rnd() & UINT64_C(0x800fffffffffffff)));
    case 2:
        return special[rnd() % 8];
    case 3: /* a decimal with 0..6 digits after the point */
        return (double)((int64_t)(rnd() % 2000000001) - 1000000000) /
               p10[rnd() % 7];
    case 4: /* constant */
        return 42.5;
    case 5: /* counter */
        return prev + (double)(rnd() % 201);
    case 6: /* gauge that changes now and then */
        return rnd() % 60 == 0 ? (double)(rnd() % 1000) : prev;
    case 7: /* percentage random walk, one decimal */
        return round(prev * 10 + (double)(rnd() % 11) - 5) / 10;
    case 8: /* latency, microseconds */
        return (double)(rnd() % 500000) / 1e6;
    case 9: /* huge integers around 2^53 and beyond */
        return (double)(int64_t)(rnd() >> (rnd() % 12)) *
               ((rnd() & 1) ? 1 : -1);
    default: /* a mix of all of the above, switching every sample */
        return gen_value((unsigned)(rnd() % 10), prev, i);
    }
}

/* The next time after prev (any int64: the codec takes any sequence). */
static int64_t gen_time(unsigned mode, int64_t prev, size_t i)
{
    switch (mode) {
    case 0: /* regular seconds */
        return (int64_t)((uint64_t)prev + (uint64_t)SEC);
    case 1: /* jittered seconds, nanosecond noise */
        return (int64_t)((uint64_t)prev + (uint64_t)SEC + rnd() % 2000000);
    case 2: /* irregular, up to an hour */
        return (int64_t)((uint64_t)prev + rnd() % (uint64_t)(3600 * SEC));
    case 3: /* any 64 bits, wrapping and going back */
        return (int64_t)rnd();
    case 4: /* near INT64_MAX */
        return INT64_MAX - (int64_t)(rnd() % 1000);
    case 5: /* near INT64_MIN */
        return INT64_MIN + (int64_t)(rnd() % 1000);
    case 6: /* alternating extremes: the largest deltas there are */
        return (i & 1) ? INT64_MAX : INT64_MIN;
    default: /* strictly rising by 1 ns */
        return (int64_t)((uint64_t)prev + 1);
    }
}

static void check_roundtrip(const sb_point *in, uint32_t n, uint8_t *buf,
                            sb_point *out)
{
    sb_cstate st, dst;

    memset(buf, 0, (size_t)(n + 1) * SB_CHUNK_SAMPLE_MAX_BYTES);
    sb__chunk_encode(in, n, buf, &st);
    assert_int_equal(st.n, n);
    assert_true(st.nbits <= (uint64_t)n * SB_CHUNK_SAMPLE_MAX_BITS);
    assert_int_equal(
        sb__chunk_decode(buf, sb__cstate_bytes(&st), in[0].t, n, out, &dst), 0);
    for (uint32_t i = 0; i < n; i++) {
        if (out[i].t != in[i].t || to_bits(out[i].v) != to_bits(in[i].v))
            fail_msg("sample %u of %u: time %lld/%lld bits %llx/%llx", i, n,
                     (long long)out[i].t, (long long)in[i].t,
                     (unsigned long long)to_bits(out[i].v),
                     (unsigned long long)to_bits(in[i].v));
    }
    /* The decoder ends in the encoder's state, bit for bit. */
    assert_int_equal(dst.nbits, st.nbits);
    assert_memory_equal(&dst, &st, sizeof st);
    /* Asking for one sample more than the stream holds reads no further
     * than its bytes (the padding bits of the last byte may decode). */
    {
        int rc = sb__chunk_decode(buf, sb__cstate_bytes(&st), in[0].t, n + 1,
                                  out, NULL);

        assert_true(rc == 0 || rc == -1);
    }
}

static size_t sample_budget(void)
{
    const char *env = getenv("SB_CHUNK_TEST_SAMPLES");

    if (env != NULL && atol(env) > 0)
        return (size_t)atol(env);
#ifdef CHUNK_SANITIZED
    return 300000;
#else
    return 3000000;
#endif
}

static void test_chunk_roundtrips_random_and_adversarial_sequences(void **state)
{
    sb_point *in = malloc(MAXSEQ * sizeof *in);
    sb_point *out = malloc((MAXSEQ + 1) * sizeof *out);
    uint8_t *buf = malloc((MAXSEQ + 2) * SB_CHUNK_SAMPLE_MAX_BYTES);
    size_t budget = sample_budget(), done = 0, seqs = 0;

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(buf);
    while (done < budget) {
        uint32_t n = 1 + (uint32_t)(rnd() % MAXSEQ);
        unsigned vmode = (unsigned)(rnd() % 11), tmode = (unsigned)(rnd() % 8);
        double v = (double)(rnd() % 1000);
        int64_t t = (int64_t)rnd();

        for (uint32_t i = 0; i < n; i++) {
            t = gen_time(tmode, t, i);
            v = gen_value(vmode, v, i);
            in[i] = (sb_point){t, v};
            /* Now and then switch shape mid-chunk. */
            if (rnd() % 200 == 0) {
                vmode = (unsigned)(rnd() % 11);
                tmode = (unsigned)(rnd() % 8);
            }
        }
        check_roundtrip(in, n, buf, out);
        done += n;
        seqs++;
    }
    free(in);
    free(out);
    free(buf);
}

/* An open chunk is appended to again after a decode (the state the
 * decoder leaves), as the store does after re-encoding a chunk. */
static void test_chunk_append_after_decode_continues_the_stream(void **state)
{
    enum { N = 600 };
    sb_point in[N], out[N];
    uint8_t *buf = calloc(N + 1, SB_CHUNK_SAMPLE_MAX_BYTES);
    sb_cstate st;

    (void)state;
    assert_non_null(buf);
    for (int i = 0; i < N; i++)
        in[i] = (sb_point){
            1000 + i * SEC + (int64_t)(rnd() % 100),
            gen_value((unsigned)(i / 60) % 11, i ? in[i - 1].v : 0, (size_t)i)};
    sb__chunk_encode(in, N / 2, buf, &st);
    assert_int_equal(
        sb__chunk_decode(buf, sb__cstate_bytes(&st), in[0].t, N / 2, out, &st),
        0);
    for (int i = N / 2; i < N; i++)
        sb__chunk_append(&st, buf, in[i].t, in[i].v);
    assert_int_equal(
        sb__chunk_decode(buf, sb__cstate_bytes(&st), in[0].t, N, out, NULL), 0);
    for (int i = 0; i < N; i++) {
        assert_true(out[i].t == in[i].t);
        assert_true(to_bits(out[i].v) == to_bits(in[i].v));
    }
    free(buf);
}

/* Every truncation and every single-bit flip of a valid stream decodes
 * without reading past the bytes given (ASan checks the bound): either
 * an error or some samples. */
static void test_chunk_decode_survives_truncation_and_bit_flips(void **state)
{
    enum { N = 200 };
    sb_point in[N], out[N];
    uint8_t *buf = calloc(N + 1, SB_CHUNK_SAMPLE_MAX_BYTES), *copy;
    sb_cstate st;
    size_t len;

    (void)state;
    assert_non_null(buf);
    for (int i = 0; i < N; i++)
        in[i] = (sb_point){
            gen_time((unsigned)i % 8, i ? in[i - 1].t : 0, (size_t)i),
            gen_value((unsigned)i % 11, i ? in[i - 1].v : 1, (size_t)i)};
    sb__chunk_encode(in, N, buf, &st);
    len = sb__cstate_bytes(&st);
    for (size_t cut = 0; cut < len; cut++) {
        copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, buf, cut);
        assert_int_equal(sb__chunk_decode(copy, cut, in[0].t, N, out, NULL),
                         -1);
        free(copy);
    }
    copy = malloc(len);
    assert_non_null(copy);
    for (size_t bit = 0; bit < len * 8; bit++) {
        int rc;

        memcpy(copy, buf, len);
        copy[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        rc = sb__chunk_decode(copy, len, in[0].t, N, out, NULL);
        assert_true(rc == 0 || rc == -1);
    }
    free(copy);
    free(buf);
}

/* Bits one sample costs, averaged over n samples of a shape. */
static double bits_per_sample(unsigned vmode, unsigned tmode, uint32_t n)
{
    sb_point *in = malloc(n * sizeof *in);
    uint8_t *buf = calloc(n + 1, SB_CHUNK_SAMPLE_MAX_BYTES);
    sb_cstate st;
    double v = 50, bits;
    int64_t t = 1700000000 * SEC;

    assert_non_null(in);
    assert_non_null(buf);
    for (uint32_t i = 0; i < n; i++) {
        t = gen_time(tmode, t, i);
        v = gen_value(vmode, v, i);
        in[i] = (sb_point){t, v};
    }
    sb__chunk_encode(in, n, buf, &st);
    bits = (double)st.nbits / n;
    free(in);
    free(buf);
    return bits;
}

/* The sizes the format is designed for, on regular one-second samples. */
static void test_chunk_sizes_of_common_shapes(void **state)
{
    (void)state;
    /* A constant: one bit, "same step, same value again". */
    assert_true(bits_per_sample(4, 0, 4800) < 1.2);
    /* A gauge changing about once a minute. */
    assert_true(bits_per_sample(6, 0, 4800) < 1.7);
    /* A percentage walk with one decimal: a few bits of delta. */
    assert_true(bits_per_sample(7, 0, 4800) < 6.5);
    /* A counter rising 0..200 a second: 8 bits of delta, no sign bit. */
    assert_true(bits_per_sample(5, 0, 4800) < 9.8);
    /* Arbitrary doubles stay within Gorilla's worst case. */
    assert_true(bits_per_sample(0, 0, 4800) < 80.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_chunk_roundtrips_random_and_adversarial_sequences),
        cmocka_unit_test(test_chunk_append_after_decode_continues_the_stream),
        cmocka_unit_test(test_chunk_decode_survives_truncation_and_bit_flips),
        cmocka_unit_test(test_chunk_sizes_of_common_shapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
