/*
 * fmt_double.c - the shortest decimal text that reads back to a double.
 *
 * A finite double a = |v| is turned into a decimal n x 10^q with the
 * fewest significant digits that strtod() reads back to a's exact bits,
 * then rendered in one canonical layout (see render()). The digits come
 * from the first of these ways that applies:
 *
 *   1. Integers below 2^53 are their own shortest decimal: any other
 *      decimal within half an ulp of them has a fraction.
 *   2. 1e-4 <= a < 1e14, the range of most metric values: exact 128-bit
 *      integer arithmetic. a = m * 2^-f exactly, so the decimals nearest
 *      to a at 15, 16 and 17 digits and the bounds of a's rounding
 *      interval are all integers once scaled by 10^k * 2^f.
 *   3. Other values with few fraction digits (1.5e-7): the smallest k for
 *      which m = round(a * 10^k) gives m / 10^k == a. Both operands of
 *      that division are exact doubles and IEEE division rounds the exact
 *      quotient to nearest just as strtod() rounds "m e-k", so the check
 *      is a real round trip. With a * 10^k < 2^50 the product's rounding
 *      error plus half an ulp of a (scaled) stays below 0.375, so m is the
 *      only k-fraction-digit decimal that could round-trip, and the
 *      smallest such k gives the fewest significant digits.
 *   4. Other normal doubles: printf's correctly rounded digits, checked
 *      with strtod().
 *   5. Subnormals carry fewer bits, so fewer digits may do: a binary
 *      search over 1..17 digits (round-tripping is monotone in the digit
 *      count), each count checked like the 16 digits below.
 *
 * Way 3 is correct for every a, not only outside way 2's range; it is
 * just slow to fail for values with many digits. Metric values mostly
 * have a few decimals (45.2, 0.125), so it is tried first with at most
 * SHORT_FIRST fraction digits, and the exact arithmetic of way 2 runs only
 * for the rest. Because way 3 finds the smallest k, a value it misses has
 * no shorter form than what the later ways produce.
 *
 * Why 15, 16 and 17 digits suffice for a normal double (ways 2 and 4): if
 * any decimal of at most 15 digits round-trips, it lies within 2^-53 * a
 * of a while the 15-digit grid is at least 1e-15 * a apart, so it is the
 * grid point nearest to a, which is what gets tried. At 16 digits the
 * grid can be finer than an ulp and the interval is lopsided at powers of
 * two (half as wide below), so the nearest point may miss while the grid
 * neighbour on a's other side round-trips; that neighbour is tried too.
 * 17 digits always round-trip: the grid is at most 1e-16 * a apart, finer
 * than the narrowest half-interval, 2^-54 * a.
 *
 * Locale: printf's output is read digit by digit and strtod() only ever
 * sees "<digits>e<exponent>", so a decimal-comma locale changes nothing.
 */
#include "encode/json.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal n x 10^q; n has at most 17 digits. */
typedef struct dec {
    uint64_t n;
    int q;
} dec;

static const double pow10_exact[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static const uint64_t pow10_u64[] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
};

/* Writes the decimal digits of n (no sign) to out; returns the count. */
static size_t fmt_u64(uint64_t n, char *out)
{
    char tmp[20];
    size_t len = 0, i;

    do {
        tmp[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    for (i = 0; i < len; i++)
        out[i] = tmp[len - 1 - i];
    return len;
}

/* Writes an exponent as C does: a sign and at least two digits. */
static size_t fmt_exp(int e, char *out)
{
    size_t len = 0;
    unsigned u;

    out[len++] = e < 0 ? '-' : '+';
    u = (unsigned)(e < 0 ? -e : e);
    if (u < 10)
        out[len++] = '0';
    return len + fmt_u64(u, out + len);
}

/*
 * The canonical layout of +-n x 10^q (n > 0): plain digits when the
 * leading digit's exponent e satisfies -7 < e < 16 ("123", "0.001",
 * "1000000000000000"), else one leading digit and an exponent ("1e+16",
 * "1.5e-07"). The upper bound keeps every integer-looking output below
 * 10^16, inside int64_t, so JSON parsers that read integers into int64_t
 * (jansson does) accept it. Always valid JSON number syntax. Returns the
 * length; out must hold SB_DOUBLE_MAX + 1 bytes (at most 25 are used).
 */
static size_t render(bool neg, dec d, char *out)
{
    char dig[20];
    size_t nd, len = 0;
    int e;

    while (d.n % 10 == 0) {
        d.n /= 10;
        d.q++;
    }
    nd = fmt_u64(d.n, dig);
    e = (int)nd - 1 + d.q;
    if (neg)
        out[len++] = '-';

    if (e >= 16 || e <= -7) {
        out[len++] = dig[0];
        if (nd > 1) {
            out[len++] = '.';
            memcpy(out + len, dig + 1, nd - 1);
            len += nd - 1;
        }
        out[len++] = 'e';
        len += fmt_exp(e, out + len);
    } else if (e < 0) {
        out[len++] = '0';
        out[len++] = '.';
        memset(out + len, '0', (size_t)(-e - 1));
        len += (size_t)(-e - 1);
        memcpy(out + len, dig, nd);
        len += nd;
    } else if ((size_t)e + 1 >= nd) {
        memcpy(out + len, dig, nd);
        len += nd;
        memset(out + len, '0', (size_t)e + 1 - nd);
        len += (size_t)e + 1 - nd;
    } else {
        memcpy(out + len, dig, (size_t)e + 1);
        len += (size_t)e + 1;
        out[len++] = '.';
        memcpy(out + len, dig + e + 1, nd - (size_t)e - 1);
        len += nd - (size_t)e - 1;
    }
    out[len] = '\0';
    return len;
}

/* The p-digit decimal nearest to a > 0, as printf rounds it. */
static dec nearest(double a, int p)
{
    char txt[48];
    const char *s;
    dec d = {0, 0};
    int exp10 = 0, neg = 0;

    snprintf(txt, sizeof txt, "%.*e", p - 1, a);
    for (s = txt; *s != '\0' && *s != 'e'; s++) {
        if (*s >= '0' && *s <= '9')
            d.n = d.n * 10 + (uint64_t)(*s - '0');
    }
    if (*s == 'e') {
        s++;
        neg = *s == '-';
        if (*s == '-' || *s == '+')
            s++;
        for (; *s >= '0' && *s <= '9'; s++)
            exp10 = exp10 * 10 + (*s - '0');
    }
    d.q = (neg ? -exp10 : exp10) - (p - 1);
    return d;
}

/* What strtod() makes of the decimal d. */
static double dec_value(dec d)
{
    char txt[40];
    size_t len = fmt_u64(d.n, txt);

    txt[len++] = 'e';
    len += fmt_exp(d.q, txt + len);
    txt[len] = '\0';
    return strtod(txt, NULL);
}

/*
 * Finds a p-digit decimal that reads back to a > 0: the nearest one, or
 * else its grid neighbour on a's other side. Returns false when neither
 * round-trips (then no p-digit decimal does).
 */
static bool roundtrip_digits(double a, int p, dec *out)
{
    dec d = nearest(a, p);
    double back = dec_value(d);

    if (back == a) {
        *out = d;
        return true;
    }
    if (back < a) {
        d.n++;
    } else if (d.n == pow10_u64[p - 1]) {
        /* Below 10^(p-1) x 10^q the grid is 99..9 x 10^(q-1). */
        d.n = d.n * 10 - 1;
        d.q--;
    } else {
        d.n--;
    }
    if (dec_value(d) != a)
        return false;
    *out = d;
    return true;
}

/* ---------------------------------------------- way 2: exact arithmetic */

/*
 * In this range a = m * 2^-f with 2^52 <= m < 2^53 and 6 <= f <= 66, and
 * the scales 10^Q used have Q <= 21, so every product below stays under
 * 2^125 and the arithmetic is exact.
 */
#define EXACT_MIN 1e-4
#define EXACT_MAX 1e14

__extension__ typedef unsigned __int128 u128;

typedef struct bin {
    uint64_t m; /* a = m * 2^-f */
    int f;
    bool pow2; /* m == 2^52: the interval below a is half as wide */
} bin;

static u128 pow10_u128(int q)
{
    u128 r = pow10_u64[q > 17 ? 17 : q];

    for (q -= 17; q > 0; q--)
        r *= 10;
    return r;
}

/* The p-digit decimal nearest to a, as n * 10^-qp, rounding half-even. */
static dec exact_nearest(const bin *b, int qp)
{
    u128 prod = (u128)b->m * pow10_u128(qp);
    u128 n = prod >> b->f;
    u128 rem = prod - (n << b->f);
    u128 half = (u128)1 << (b->f - 1);
    dec d;

    if (rem > half || (rem == half && (n & 1) != 0))
        n++;
    d.n = (uint64_t)n;
    d.q = -qp;
    return d;
}

/*
 * Whether n * 10^-qp lies in a's rounding interval: within half an ulp
 * above, half an ulp (a quarter at a power of two) below, the ends
 * included when m is even because strtod() breaks ties to even. Scaled by
 * 4 * 10^qp * 2^f, half an ulp is 2 * 10^qp.
 */
static bool exact_roundtrips(const bin *b, uint64_t n, int qp)
{
    u128 scale = pow10_u128(qp);
    u128 v4 = ((u128)b->m * scale) << 2;
    u128 d4 = ((u128)n << b->f) << 2;
    u128 room = d4 >= v4 ? scale * 2 : (b->pow2 ? scale : scale * 2);
    u128 dist = d4 >= v4 ? d4 - v4 : v4 - d4;

    return (b->m & 1) == 0 ? dist <= room : dist < room;
}

/* The exponent Q with 10^16 <= a * 10^Q < 10^17. */
static int exact_scale(const bin *b, int bexp)
{
    /* floor(bexp * log10(2)), with 78913 / 2^18 for log10(2), is
     * floor(log10(a)) or one less; the exact check below settles it. */
    int est = (bexp * 78913 - (bexp < 0 ? 262143 : 0)) / 262144;
    int q = 16 - est;
    u128 whole = ((u128)b->m * pow10_u128(q)) >> b->f;

    if (whole >= (u128)pow10_u64[17])
        q--;
    return q;
}

/* Way 2 of the file comment, for EXACT_MIN <= a < EXACT_MAX. */
static dec exact_digits(double a)
{
    bin b;
    int x, q;
    dec d;
    double frac = frexp(a, &x);

    b.m = (uint64_t)(frac * 0x1p53);
    b.f = 53 - x;
    b.pow2 = b.m == (1ULL << 52);
    q = exact_scale(&b, x - 1);

    d = exact_nearest(&b, q - 2);
    if (exact_roundtrips(&b, d.n, -d.q))
        return d;

    d = exact_nearest(&b, q - 1);
    if (exact_roundtrips(&b, d.n, -d.q))
        return d;
    if (((u128)d.n << b.f) < (u128)b.m * pow10_u128(-d.q)) {
        d.n++;
    } else if (d.n == pow10_u64[15]) {
        d.n = pow10_u64[16] - 1;
        d.q--;
    } else {
        d.n--;
    }
    if (exact_roundtrips(&b, d.n, -d.q))
        return d;

    return exact_nearest(&b, q);
}

/* ------------------------------------------ ways 3 to 5: other values */

/* Fraction digits tried by way 3 before the other ways. */
#define SHORT_FIRST 4

/* Way 3 of the file comment: decimals with at most kmax (<= 22) fraction
 * digits. */
static bool short_fraction(double a, int kmax, dec *out)
{
    int k;

    for (k = 1; k <= kmax; k++) {
        double s = a * pow10_exact[k];
        uint64_t m;

        if (s >= 0x1p50)
            return false;
        if (s < 0.5)
            continue;
        m = (uint64_t)(s + 0.5);
        if ((double)m / pow10_exact[k] == a) {
            out->n = m;
            out->q = -k;
            return true;
        }
    }
    return false;
}

/* Ways 4 and 5 of the file comment. */
static dec general_digits(double a)
{
    dec d;
    int lo = 1, hi = 17;

    if (a >= 0x1p-1022) {
        d = nearest(a, 15);
        if (dec_value(d) == a)
            return d;
        if (roundtrip_digits(a, 16, &d))
            return d;
        return nearest(a, 17);
    }

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (roundtrip_digits(a, mid, &d))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!roundtrip_digits(a, lo, &d))
        d = nearest(a, 17);
    return d;
}

size_t sb__fmt_double(double v, char *out)
{
    bool neg = signbit(v) != 0;
    double a = fabs(v);
    dec d;

    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(out, neg ? "-Inf" : "+Inf", 5);
        return 4;
    }
    if (a == 0) {
        memcpy(out, neg ? "-0" : "0", neg ? 3 : 2);
        return neg ? 2 : 1;
    }

    if (a < 0x1p53 && a == (double)(uint64_t)a) {
        d.n = (uint64_t)a;
        d.q = 0;
    } else if (short_fraction(a, SHORT_FIRST, &d)) {
        /* d is set */
    } else if (a >= EXACT_MIN && a < EXACT_MAX) {
        d = exact_digits(a);
    } else if (!short_fraction(a, 22, &d)) {
        d = general_digits(a);
    }
    return render(neg, d, out);
}
