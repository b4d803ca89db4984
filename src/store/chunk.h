/*
 * chunk.h - the compressed sample codec: a chunk is a bit stream of
 * (time, value) samples, appended one at a time and decoded in order.
 *
 * The codec depends on nothing else in the store, so it is unit-tested and
 * fuzzed on its own. A chunk's first time is kept outside the bit stream
 * (in the chunk header of the caller). Every later sample starts with a
 * "steady" bit: 0 when its time step equals the previous one and its value
 * has the previous value's kind (below), and then only the kind's payload
 * follows; 1 when the time, the kind and the payload follow:
 *
 *   time   delta-of-delta of the nanosecond times, in unsigned 64-bit
 *          wraparound arithmetic (so any int64 sequence round-trips):
 *            0                dod == 0
 *            10   + 8 bits    zigzag(dod) < 2^8
 *            110  + 16 bits   < 2^16
 *            1110 + 32 bits   < 2^32
 *            1111 + 64 bits   anything
 *   kind   "0" when it repeats the previous sample's kind, else "1" + 2
 *          bits; the first sample has no steady bit and no time, only the
 *          kind and the payload:
 *            SAME    bit-identical to the previous value (no payload)
 *            DELTA   the value is i / 10^k for an integer |i| <= 2^53 at
 *                    the scale k of the previous value: zigzag(i - prev i)
 *                    in an adaptive width w; the all-ones word of w bits is
 *                    an escape followed by 7 bits of length and the value;
 *                    after 8 non-negative deltas in a row (a counter) the
 *                    word is the delta itself, without a sign bit
 *            SCALE   a decimal at a new scale: 3 bits k (0..6), then
 *                    zigzag(i) as 7 bits of length and the bits
 *            XOR     any other double: Gorilla's XOR with the previous
 *                    value's bits ("0" reuse the leading/length window,
 *                    "1" + 6 bits leading zeros + 6 bits length - 1)
 *
 * A decimal is accepted at scale k only when (double)i / 10^k, the exact
 * expression the decoder evaluates, gives back the identical bits, so
 * -0.0, NaN payloads, infinities and subnormals all take the XOR path and
 * every double round-trips bit for bit. Both ends assume the default
 * floating-point rounding mode (round to nearest): a program that changes
 * it with fesetround() while the store runs could decode a decimal one
 * ulp off.
 */
#ifndef SB_STORE_CHUNK_H
#define SB_STORE_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One sample. The store's read contract copies points in this layout. */
typedef struct sb_point {
    int64_t t;
    double v;
} sb_point;

/* The most bits one sample can take (1 + time 68 + kind 3 + 135): a writer
 * keeps at least SB_CHUNK_SAMPLE_MAX_BYTES zeroed bytes free past the
 * end of the stream before each append. */
#define SB_CHUNK_SAMPLE_MAX_BITS  208 /* 207 rounded up */
#define SB_CHUNK_SAMPLE_MAX_BYTES 27

/*
 * The coder state after the last sample, shared by encoder and decoder:
 * both apply the same transitions, so the decoder never needs more than
 * the stream and the chunk's first time.
 */
typedef struct sb_cstate {
    uint64_t nbits; /* bits written or consumed so far */
    uint32_t n;     /* samples so far */
    int64_t t;      /* last time */
    uint64_t delta; /* last time delta (wraparound) */
    uint64_t bits;  /* last value's bits */
    int64_t ival;   /* last value as a scaled integer (when dec) */
    uint8_t k;      /* its scale */
    uint8_t dec;    /* whether ival/k describe the last value */
    uint8_t kind;   /* last value kind */
    uint8_t w;      /* DELTA width, 1..64 */
    uint8_t shrink; /* consecutive DELTAs that fit in w - 1 bits */
    uint8_t mono;   /* consecutive non-negative DELTAs, up to 8 */
    uint8_t lead;   /* XOR window: leading zeros */
    uint8_t len;    /* XOR window: meaningful bits; 0 = no window */
} sb_cstate;

/* Starts the state of an empty chunk. */
void sb__cstate_init(sb_cstate *st);

/*
 * Appends (t, v) to the stream buf, whose first st->nbits bits are the
 * chunk so far and whose bytes from there on are zero, at least
 * SB_CHUNK_SAMPLE_MAX_BYTES of them. The first sample writes only its
 * value; its time is the caller's to keep (sb__chunk_decode's first_t).
 * Updates st. Never fails.
 */
void sb__chunk_append(sb_cstate *st, uint8_t *buf, int64_t t, double v);

/* Bytes the stream of st occupies. */
static inline size_t sb__cstate_bytes(const sb_cstate *st)
{
    return (size_t)((st->nbits + 7) / 8);
}

/*
 * Decodes n samples from the nbytes of buf, the first at time first_t,
 * into out (room for n). Any input is safe: reads stay within buf and a
 * stream that ends early or codes an impossible field gives -1. On
 * success returns 0 and, when st is not NULL, leaves the state after the
 * last sample in *st (so an open chunk can be appended to again).
 */
int sb__chunk_decode(const uint8_t *buf, size_t nbytes, int64_t first_t,
                     uint32_t n, sb_point *out, sb_cstate *st);

/* Decodes a chunk one sample at a time, with the same checks. */
typedef struct sb_chunk_iter {
    const uint8_t *buf;
    size_t nbytes;
    uint64_t pos;
    uint32_t left;
    int64_t first_t;
    sb_cstate st;
} sb_chunk_iter;

void sb__chunk_iter_init(sb_chunk_iter *it, const uint8_t *buf, size_t nbytes,
                         int64_t first_t, uint32_t n);
/* The next sample into *p: 1, 0 at the end, -1 on a malformed stream. */
int sb__chunk_iter_next(sb_chunk_iter *it, sb_point *p);

/* Encodes n samples into a fresh stream: buf must be zeroed and hold
 * n * SB_CHUNK_SAMPLE_MAX_BYTES + SB_CHUNK_SAMPLE_MAX_BYTES bytes. The
 * state after the last sample is left in *st. */
void sb__chunk_encode(const sb_point *pts, uint32_t n, uint8_t *buf,
                      sb_cstate *st);

#endif
