/*
 * test_fmt_double.c - sb__fmt_double: exact text for common values, and
 * for every sampled double: valid JSON number syntax, strtod() and
 * jansson read it back to the identical bits, and no decimal with fewer
 * significant digits would have done.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "encode/json.h"

#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t xorshift64(void)
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

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9')
            s++;
    } else {
        return false;
    }
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* Significant digits of a number text (0 for zero). */
static int sig_digits(const char *s)
{
    char d[64];
    size_t n = 0, lead = 0;

    for (; *s != '\0' && *s != 'e'; s++) {
        if (*s >= '0' && *s <= '9' && n < sizeof d)
            d[n++] = *s;
    }
    while (lead < n && d[lead] == '0')
        lead++;
    while (n > lead && d[n - 1] == '0')
        n--;
    return (int)(n - lead);
}

static bool decimal_roundtrips(uint64_t n, int q, double v)
{
    char txt[64];

    snprintf(txt, sizeof txt, "%" PRIu64 "e%d", n, q);
    return strtod(txt, NULL) == v;
}

/*
 * Whether some decimal with p significant digits reads back to v > 0:
 * the nearest one (printf) or any p-digit grid point next to it.
 */
static bool some_p_digit_roundtrips(double v, int p)
{
    char txt[64], *e;
    uint64_t n = 0, pow10;
    int q;
    const char *s;

    snprintf(txt, sizeof txt, "%.*e", p - 1, v);
    e = strchr(txt, 'e');
    assert_non_null(e);
    for (s = txt; s < e; s++) {
        if (*s >= '0' && *s <= '9')
            n = n * 10 + (uint64_t)(*s - '0');
    }
    q = (int)strtol(e + 1, NULL, 10) - (p - 1);
    if (decimal_roundtrips(n, q, v) || decimal_roundtrips(n + 1, q, v) ||
        decimal_roundtrips(n - 1, q, v))
        return true;
    /* Below 10^(p-1) the p-digit grid is ten times finer. */
    for (pow10 = 1; pow10 < n; pow10 *= 10)
        ;
    return pow10 == n && decimal_roundtrips(n * 10 - 1, q - 1, v);
}

/*
 * Checks one double: JSON syntax, exact round trip through strtod() and
 * jansson, and (when check_shortest) that one digit fewer never works.
 */
static void check_value(double v, bool check_shortest)
{
    char out[SB_DOUBLE_MAX + 1];
    size_t n = sb__fmt_double(v, out);
    double back;
    json_t *j;
    json_error_t jerr;
    int digits;

    assert_int_equal(n, strlen(out));
    assert_true(n <= SB_DOUBLE_MAX);
    if (!is_json_number(out))
        fail_msg("%a -> \"%s\" is not a JSON number", v, out);

    back = strtod(out, NULL);
    if (to_bits(back) != to_bits(v))
        fail_msg("%a -> \"%s\" reads back as %a", v, out, back);

    j = json_loads(out, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    if (j == NULL)
        fail_msg("jansson rejects \"%s\": %s", out, jerr.text);
    back = json_number_value(j);
    json_decref(j);
    if (to_bits(back) != to_bits(v))
        fail_msg("jansson reads \"%s\" as %a, not %a", out, back, v);

    digits = sig_digits(out);
    if (check_shortest && digits > 1 &&
        some_p_digit_roundtrips(fabs(v), digits - 1))
        fail_msg("%a -> \"%s\" is not shortest", v, out);
}

static void test_fmt_double_exact_text_of_common_values(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "-0"},
        {0.1, "0.1"},
        {0.3, "0.3"},
        {0.1 + 0.2, "0.30000000000000004"},
        {45.2, "45.2"},
        {-45.2, "-45.2"},
        {1234.5678, "1234.5678"},
        {0.5, "0.5"},
        {100, "100"},
        {-1, "-1"},
        {1.0 / 3, "0.3333333333333333"},
        {2.0 / 3, "0.6666666666666666"},
        {1e21, "1e+21"},
        {1e-7, "1e-07"},
        {1.5e-7, "1.5e-07"},
        {0.000001, "0.000001"},
        {0.000123, "0.000123"},
        {1e15, "1000000000000000"},
        {1e16, "1e+16"},
        {1e23, "1e+23"},
        {1e300, "1e+300"},
        {1e-300, "1e-300"},
        {9007199254740991.0, "9007199254740991"},
        {9007199254740993.0, "9007199254740992"},
        {123456789012345678.0, "1.2345678901234568e+17"},
        {9223372036854775808.0, "9.223372036854776e+18"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {-DBL_MAX, "-1.7976931348623157e+308"},
        {DBL_MIN, "2.2250738585072014e-308"},
        {DBL_TRUE_MIN, "5e-324"},
        {5e-310, "5e-310"},
        {0x1p-1017, "7.120236347223045e-307"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
    };
    char out[SB_DOUBLE_MAX + 1];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = sb__fmt_double(cases[i].v, out);

        assert_string_equal(out, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
    }
}

static void test_fmt_double_non_finite_words(void **state)
{
    char out[SB_DOUBLE_MAX + 1];

    (void)state;
    assert_int_equal(sb__fmt_double(NAN, out), 3);
    assert_string_equal(out, "NaN");
    assert_int_equal(sb__fmt_double(-NAN, out), 3);
    assert_string_equal(out, "NaN");
    assert_int_equal(sb__fmt_double(INFINITY, out), 4);
    assert_string_equal(out, "+Inf");
    assert_int_equal(sb__fmt_double(-INFINITY, out), 4);
    assert_string_equal(out, "-Inf");
}

static void test_fmt_double_adversarial_values_are_shortest(void **state)
{
    const double table[] = {
        0.0,
        -0.0,
        DBL_MIN,
        DBL_TRUE_MIN,
        DBL_MAX,
        0.1,
        1.0 / 3,
        5e-324,
        1e23,
        9007199254740993.0,
        123456789012345678.0,
        nextafter(DBL_MIN, 0),
        nextafter(DBL_MIN, 1),
        nextafter(DBL_MAX, 0),
        nextafter(0.1, 0),
        nextafter(0.1, 1),
        nextafter(1e23, 0),
        nextafter(1e23, INFINITY),
        from_bits(0x000FFFFFFFFFFFFFULL), /* largest subnormal */
        from_bits(0x0000000000000002ULL),
        from_bits(0x0008000000000000ULL),
        from_bits(0x0000000012345678ULL),
        1e-4,
        nextafter(1e-4, 0),
        1e14,
        nextafter(1e14, 0),
        0x1p53,
        nextafter(0x1p53, 0),
        0x1p53 + 2,
        2.2250738585072011e-308,
    };
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        check_value(table[i], true);
        check_value(-table[i], true);
    }

    /* Every power of two and its neighbours: the rounding interval is
     * lopsided exactly here. */
    for (k = -1074; k <= 1023; k++) {
        double p = ldexp(1.0, k);

        check_value(p, true);
        check_value(nextafter(p, 0), true);
        check_value(nextafter(p, INFINITY), true);
    }
}

/* Random bit patterns over the whole range, and random mantissas in the
 * range metric values usually have (fixed seeds, so failures repeat). */
static void test_fmt_double_random_doubles_roundtrip(void **state)
{
    long i;

    (void)state;
    rng_state = 0x9E3779B97F4A7C15ULL;
    for (i = 0; i < 100000; i++) {
        double v = from_bits(xorshift64());

        if (isfinite(v))
            check_value(v, i % 16 == 0);
    }
    for (i = 0; i < 600000; i++) {
        uint64_t b = xorshift64();
        int exp2 = (int)(b >> 56) % 110 - 40; /* about 1e-12 .. 1e21 */
        double v = from_bits((b & 0x800FFFFFFFFFFFFFULL) |
                             ((uint64_t)(1023 + exp2) << 52));

        check_value(v, i % 16 == 0);
    }
}

/* Values a metrics system actually sees: short decimals, ratios and
 * integers, all of which must come out exactly as typed. */
static void test_fmt_double_short_decimals_print_as_typed(void **state)
{
    char out[SB_DOUBLE_MAX + 1], want[64];
    long i;

    (void)state;
    rng_state = 12345;
    for (i = 0; i < 100000; i++) {
        uint64_t b = xorshift64();
        long whole = (long)(b % 100000);
        int frac = (int)((b >> 20) % 1000);
        double v;

        snprintf(want, sizeof want, "%ld.%03d", whole, frac);
        v = strtod(want, NULL);
        /* Trim the typed text the way the formatter must. */
        while (want[strlen(want) - 1] == '0')
            want[strlen(want) - 1] = '\0';
        if (want[strlen(want) - 1] == '.')
            want[strlen(want) - 1] = '\0';
        sb__fmt_double(v, out);
        assert_string_equal(out, want);
        check_value(v / 7, false);
    }
}

/* Decimals with one to six fraction digits at every magnitude the fast
 * path can see (m / 10^k with m up to 2^50), each checked for round trip
 * and for being the shortest form. */
static void test_fmt_double_few_fraction_digits_are_shortest(void **state)
{
    static const double scale[] = {1,   10,  100, 1e3,  1e4,  1e5, 1e6,
                                   1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
    long i;

    (void)state;
    rng_state = 0xC0FFEEULL;
    for (i = 0; i < 200000; i++) {
        uint64_t b = xorshift64();
        uint64_t m = (b >> 14) % (1ULL << (10 + (b & 31)));
        int k = 1 + (int)((b >> 5) % 6);
        double v = (double)m / scale[k];

        if (v != 0)
            check_value(v, true);
        check_value(v * scale[(b >> 8) % 13], true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_double_exact_text_of_common_values),
        cmocka_unit_test(test_fmt_double_non_finite_words),
        cmocka_unit_test(test_fmt_double_adversarial_values_are_shortest),
        cmocka_unit_test(test_fmt_double_random_doubles_roundtrip),
        cmocka_unit_test(test_fmt_double_short_decimals_print_as_typed),
        cmocka_unit_test(test_fmt_double_few_fraction_digits_are_shortest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
