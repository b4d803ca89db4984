/*
 * chunk.c - the sample codec (format in chunk.h).
 *
 * Bits are written most significant first into bytes that start zeroed,
 * so a write is an OR and the writer needs no flush. The reader checks
 * every field against the stream's length, which is what makes decoding
 * of arbitrary bytes safe; every arithmetic step on decoded numbers is
 * unsigned, so hostile input cannot overflow either.
 */
#include "store/chunk.h"

#include <math.h>
#include <string.h>

enum { K_SAME = 0, K_DELTA = 1, K_SCALE = 2, K_XOR = 3 };

#define SCALE_MAX     6
#define SHRINK_AFTER  16
#define MONO_AFTER    8 /* non-negative DELTAs in a row before mono mode */
#define DECIMAL_LIMIT 9007199254740992.0 /* 2^53: every integer exact */

static const double pow10s[SCALE_MAX + 1] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};

typedef struct reader {
    const uint8_t *buf;
    uint64_t nbits, pos;
} reader;

static uint64_t dbits(double v)
{
    uint64_t b;

    memcpy(&b, &v, sizeof b);
    return b;
}

static double bdouble(uint64_t b)
{
    double v;

    memcpy(&v, &b, sizeof v);
    return v;
}

static uint64_t zigzag(uint64_t x)
{
    return (x << 1) ^ (0 - (x >> 63));
}

static uint64_t unzigzag(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}

/* Bits needed to write x (0 for 0). */
static unsigned bitlen(uint64_t x)
{
    return x == 0 ? 0 : 64 - (unsigned)__builtin_clzll(x);
}

/* Writes the low n bits of v (n <= 64) at *pos. */
static void put(uint8_t *buf, uint64_t *pos, uint64_t v, unsigned n)
{
    while (n > 0) {
        uint64_t byte = *pos >> 3;
        unsigned room = 8 - (unsigned)(*pos & 7);
        unsigned take = n < room ? n : room;
        unsigned bits = (unsigned)(v >> (n - take)) & ((1u << take) - 1);

        buf[byte] |= (uint8_t)(bits << (room - take));
        *pos += take;
        n -= take;
    }
}

/* Reads n bits (n <= 64). false when the stream is too short. */
static bool get(reader *r, unsigned n, uint64_t *out)
{
    uint64_t v = 0;

    if (n > r->nbits - r->pos)
        return false;
    while (n > 0) {
        uint64_t byte = r->pos >> 3;
        unsigned room = 8 - (unsigned)(r->pos & 7);
        unsigned take = n < room ? n : room;
        unsigned bits =
            ((unsigned)r->buf[byte] >> (room - take)) & ((1u << take) - 1);

        v = (v << take) | bits;
        r->pos += take;
        n -= take;
    }
    *out = v;
    return true;
}

void sb__cstate_init(sb_cstate *st)
{
    memset(st, 0, sizeof *st);
    st->w = 1;
}

/* ------------------------------------------------------------ times */

static void put_time(sb_cstate *st, uint8_t *buf, int64_t t)
{
    uint64_t delta = (uint64_t)t - (uint64_t)st->t;
    uint64_t z = zigzag(delta - st->delta);

    if (z == 0)
        put(buf, &st->nbits, 0, 1);
    else if (z < (UINT64_C(1) << 8))
        put(buf, &st->nbits, (UINT64_C(0x2) << 8) | z, 10);
    else if (z < (UINT64_C(1) << 16))
        put(buf, &st->nbits, (UINT64_C(0x6) << 16) | z, 19);
    else if (z < (UINT64_C(1) << 32))
        put(buf, &st->nbits, (UINT64_C(0xe) << 32) | z, 36);
    else {
        put(buf, &st->nbits, 0xf, 4);
        put(buf, &st->nbits, z, 64);
    }
    st->t = t;
    st->delta = delta;
}

static bool get_time(sb_cstate *st, reader *r, int64_t *t)
{
    static const unsigned widths[4] = {8, 16, 32, 64};
    uint64_t bit, z = 0;
    unsigned ones = 0;

    while (ones < 4) {
        if (!get(r, 1, &bit))
            return false;
        if (bit == 0)
            break;
        ones++;
    }
    if (ones > 0 && !get(r, widths[ones - 1], &z))
        return false;
    st->delta += unzigzag(z);
    st->t = (int64_t)((uint64_t)st->t + st->delta);
    *t = st->t;
    return true;
}

/* ------------------------------------------------------------ values */

/* Whether v is exactly (double)i / 10^k for an integer |i| <= 2^53. */
static bool as_decimal(double v, uint64_t bits, unsigned k, int64_t *i)
{
    double x = v * pow10s[k], r;
    int64_t n;

    if (!(x >= -DECIMAL_LIMIT && x <= DECIMAL_LIMIT))
        return false; /* also NaN */
    r = nearbyint(x);
    n = (int64_t)r;
    if (dbits((double)n / pow10s[k]) != bits)
        return false;
    *i = n;
    return true;
}

static void put_kind(sb_cstate *st, uint8_t *buf, unsigned kind)
{
    if (kind == st->kind) {
        put(buf, &st->nbits, 0, 1);
        return;
    }
    put(buf, &st->nbits, 4 | kind, 3);
    st->kind = (uint8_t)kind;
}

/* A length-prefixed number: 7 bits of bit length, then the bits. */
static void put_long(sb_cstate *st, uint8_t *buf, uint64_t z)
{
    unsigned n = bitlen(z);

    put(buf, &st->nbits, n, 7);
    put(buf, &st->nbits, z, n);
}

static bool get_long(reader *r, uint64_t *z)
{
    uint64_t n;

    if (!get(r, 7, &n) || n > 64)
        return false;
    *z = 0;
    return n == 0 || get(r, (unsigned)n, z);
}

/* Width that holds z below the escape word: z <= 2^w - 2. */
static unsigned width_for(uint64_t z)
{
    unsigned w = z == UINT64_MAX ? 64 : bitlen(z + 1);

    return w == 0 ? 1 : w;
}

/* Adapts the DELTA width after coding z: grown at once by an escape,
 * shrunk by one bit after SHRINK_AFTER values in a row fit a narrower
 * one. Encoder and decoder both call it. */
static void adapt_width(sb_cstate *st, uint64_t z)
{
    unsigned need = width_for(z);

    if (need < st->w) {
        if (++st->shrink >= SHRINK_AFTER) {
            st->w--;
            st->shrink = 0;
        }
    } else {
        st->shrink = 0;
    }
}

static uint64_t width_mask(unsigned w)
{
    return w >= 64 ? UINT64_MAX : (UINT64_C(1) << w) - 1;
}

/*
 * A DELTA's code word: zigzag(d), or in mono mode (after MONO_AFTER
 * non-negative deltas in a row, as counters have) d itself, which saves
 * the sign bit; a negative d in mono mode is always escaped.
 */
static uint64_t delta_word(const sb_cstate *st, uint64_t d)
{
    return st->mono >= MONO_AFTER && (int64_t)d >= 0 ? d : zigzag(d);
}

static void delta_done(sb_cstate *st, uint64_t d, uint64_t word)
{
    adapt_width(st, word);
    if ((int64_t)d >= 0)
        st->mono = (uint8_t)(st->mono < MONO_AFTER ? st->mono + 1 : MONO_AFTER);
    else
        st->mono = 0;
    st->ival = (int64_t)((uint64_t)st->ival + d);
}

static void put_delta(sb_cstate *st, uint8_t *buf, int64_t i)
{
    uint64_t d = (uint64_t)i - (uint64_t)st->ival;
    uint64_t word = delta_word(st, d), esc = width_mask(st->w);
    bool inline_ok = word < esc && (st->mono < MONO_AFTER || (int64_t)d >= 0);

    if (inline_ok) {
        put(buf, &st->nbits, word, st->w);
    } else {
        put(buf, &st->nbits, esc, st->w);
        put_long(st, buf, zigzag(d));
        st->w = (uint8_t)width_for(word);
        st->shrink = 0;
    }
    delta_done(st, d, word);
}

static bool get_delta(sb_cstate *st, reader *r)
{
    uint64_t z, d, word, esc = width_mask(st->w);

    if (!get(r, st->w, &z))
        return false;
    if (z != esc) {
        d = st->mono >= MONO_AFTER ? z : unzigzag(z);
        word = z;
    } else {
        if (!get_long(r, &z))
            return false;
        d = unzigzag(z);
        word = delta_word(st, d);
        st->w = (uint8_t)width_for(word);
        st->shrink = 0;
    }
    delta_done(st, d, word);
    return true;
}

static void put_xor(sb_cstate *st, uint8_t *buf, uint64_t bits)
{
    uint64_t x = bits ^ st->bits; /* never 0: equal values are SAME */
    unsigned lz = (unsigned)__builtin_clzll(x);
    unsigned tz = (unsigned)__builtin_ctzll(x);

    if (st->len > 0 && lz >= st->lead && tz >= 64u - st->lead - st->len) {
        put(buf, &st->nbits, 0, 1);
        put(buf, &st->nbits, x >> (64u - st->lead - st->len), st->len);
        return;
    }
    st->lead = (uint8_t)(lz > 63 ? 63 : lz);
    st->len = (uint8_t)(64 - st->lead - tz);
    put(buf, &st->nbits, 1, 1);
    put(buf, &st->nbits, st->lead, 6);
    put(buf, &st->nbits, st->len - 1u, 6);
    put(buf, &st->nbits, x >> tz, st->len);
}

static bool get_xor(sb_cstate *st, reader *r)
{
    uint64_t ctl, lead, len, x;

    if (!get(r, 1, &ctl))
        return false;
    if (ctl == 1) {
        if (!get(r, 6, &lead) || !get(r, 6, &len))
            return false;
        len += 1;
        if (lead + len > 64)
            return false;
        st->lead = (uint8_t)lead;
        st->len = (uint8_t)len;
    } else if (st->len == 0) {
        return false;
    }
    if (!get(r, st->len, &x))
        return false;
    st->bits ^= x << (64u - st->lead - st->len);
    return true;
}

/* The kind value v is coded as, given the state; fills *i and *k for the
 * decimal kinds. */
static unsigned choose_kind(const sb_cstate *st, double v, uint64_t bits,
                            int64_t *i, unsigned *k)
{
    if (st->n > 0 && bits == st->bits)
        return K_SAME;
    if (st->dec && as_decimal(v, bits, st->k, i))
        return K_DELTA;
    for (*k = 0; *k <= SCALE_MAX; (*k)++)
        if (as_decimal(v, bits, *k, i))
            return K_SCALE;
    return K_XOR;
}

static void put_payload(sb_cstate *st, uint8_t *buf, unsigned kind,
                        uint64_t bits, int64_t i, unsigned k)
{
    switch (kind) {
    case K_SAME:
        return;
    case K_DELTA:
        put_delta(st, buf, i);
        break;
    case K_SCALE:
        put(buf, &st->nbits, k, 3);
        put_long(st, buf, zigzag((uint64_t)i));
        st->k = (uint8_t)k;
        st->ival = i;
        st->dec = 1;
        break;
    default:
        put_xor(st, buf, bits);
        st->dec = 0;
        break;
    }
    st->bits = bits;
}

static bool get_payload(sb_cstate *st, reader *r)
{
    uint64_t k, z;

    switch (st->kind) {
    case K_SAME:
        return st->n > 0;
    case K_DELTA:
        if (!st->dec || !get_delta(st, r))
            return false;
        break;
    case K_SCALE:
        if (!get(r, 3, &k) || k > SCALE_MAX || !get_long(r, &z))
            return false;
        st->k = (uint8_t)k;
        st->ival = (int64_t)unzigzag(z);
        st->dec = 1;
        break;
    default:
        if (!get_xor(st, r))
            return false;
        st->dec = 0;
        return true;
    }
    st->bits = dbits((double)st->ival / pow10s[st->k]);
    return true;
}

static bool get_kind(sb_cstate *st, reader *r)
{
    uint64_t bit, kind;

    if (!get(r, 1, &bit))
        return false;
    if (bit == 1) {
        if (!get(r, 2, &kind))
            return false;
        st->kind = (uint8_t)kind;
    }
    return true;
}

/* ------------------------------------------------------------ chunks */

void sb__chunk_append(sb_cstate *st, uint8_t *buf, int64_t t, double v)
{
    uint64_t bits = dbits(v);
    unsigned k = 0, kind;
    int64_t i = 0;

    kind = choose_kind(st, v, bits, &i, &k);
    if (st->n == 0) {
        st->t = t;
        put_kind(st, buf, kind);
    } else if ((uint64_t)t - (uint64_t)st->t == st->delta && kind == st->kind) {
        put(buf, &st->nbits, 0, 1); /* steady: same step, same kind */
        st->t = t;
    } else {
        put(buf, &st->nbits, 1, 1);
        put_time(st, buf, t);
        put_kind(st, buf, kind);
    }
    put_payload(st, buf, kind, bits, i, k);
    st->n++;
}

void sb__chunk_encode(const sb_point *pts, uint32_t n, uint8_t *buf,
                      sb_cstate *st)
{
    sb__cstate_init(st);
    for (uint32_t i = 0; i < n; i++)
        sb__chunk_append(st, buf, pts[i].t, pts[i].v);
}

void sb__chunk_iter_init(sb_chunk_iter *it, const uint8_t *buf, size_t nbytes,
                         int64_t first_t, uint32_t n)
{
    it->buf = buf;
    it->nbytes = nbytes;
    it->pos = 0;
    it->left = n;
    it->first_t = first_t;
    sb__cstate_init(&it->st);
    it->st.t = first_t;
}

int sb__chunk_iter_next(sb_chunk_iter *it, sb_point *p)
{
    reader r = {it->buf, (uint64_t)it->nbytes * 8, it->pos};
    sb_cstate *st = &it->st;
    uint64_t steady = 1;

    if (it->left == 0)
        return 0;
    if (st->n > 0 && !get(&r, 1, &steady))
        return -1;
    if (st->n == 0) {
        p->t = it->first_t;
    } else if (steady == 0) {
        st->t = (int64_t)((uint64_t)st->t + st->delta);
        p->t = st->t;
    } else if (!get_time(st, &r, &p->t)) {
        return -1;
    }
    if ((steady == 1 && !get_kind(st, &r)) || !get_payload(st, &r))
        return -1;
    p->v = bdouble(st->bits);
    st->n++;
    st->nbits = r.pos;
    it->pos = r.pos;
    it->left--;
    return 1;
}

int sb__chunk_decode(const uint8_t *buf, size_t nbytes, int64_t first_t,
                     uint32_t n, sb_point *out, sb_cstate *st)
{
    sb_chunk_iter it;

    sb__chunk_iter_init(&it, buf, nbytes, first_t, n);
    for (uint32_t i = 0; i < n; i++)
        if (sb__chunk_iter_next(&it, &out[i]) != 1)
            return -1;
    if (st != NULL)
        *st = it.st;
    return 0;
}
