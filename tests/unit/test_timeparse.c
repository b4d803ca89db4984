/*
 * test_timeparse.c - must-parse and must-reject tables for the time and
 * duration parsers of src/common/timeparse.c.
 *
 * Every input is passed with an explicit length, so cases can embed NUL
 * bytes and the parsers are checked never to read past the given range.
 * Each must-parse case pins the exact nanosecond value; each must-reject
 * case pins the error code (SB_EINVAL for malformed text, SB_ERANGE for
 * well-formed values outside int64 nanoseconds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeparse.h"
#include "scoreboard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

typedef struct time_case {
    const char *s;
    size_t n;
    int rc;
    int64_t ns; /* expected when rc == 0 */
} time_case;

typedef int (*parse_fn)(const char *s, size_t n, int64_t *out);

/* Copies each input into an exactly-sized heap block, so ASan reports any
 * read past the given length, then checks the result against the case. */
static void run_cases(const char *what, parse_fn fn, const time_case *cases,
                      size_t ncases)
{
    int failures = 0;

    for (size_t i = 0; i < ncases; i++) {
        const time_case *c = &cases[i];
        char *copy = malloc(c->n > 0 ? c->n : 1);
        int64_t got = 12345;
        int rc;

        assert_non_null(copy);
        memcpy(copy, c->s, c->n);
        rc = fn(copy, c->n, &got);
        free(copy);
        if (rc != c->rc || (rc == 0 && got != c->ns)) {
            print_error("%s case %zu \"%.*s\": rc %d (want %d) ns %lld "
                        "(want %lld)\n",
                        what, i, (int)c->n, c->s, rc, c->rc, (long long)got,
                        (long long)c->ns);
            failures++;
        }
        if (rc != 0 && got != 12345) {
            print_error("%s case %zu: output written on failure\n", what, i);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static void test_rfc3339_parses_valid_timestamps(void **state)
{
    static const time_case cases[] = {
        {S("1970-01-01T00:00:00Z"), 0, 0},
        {S("2026-12-03T18:22:13Z"), 0, INT64_C(1796322133000000000)},
        {S("2026-12-03t18:22:13.123456789+01:00"), 0,
         INT64_C(1796318533123456789)},
        {S("2026-12-03 18:22:13z"), 0, INT64_C(1796322133000000000)},
        {S("2026-12-03T18:22:13.1Z"), 0, INT64_C(1796322133100000000)},
        {S("2026-12-03T18:22:13.000000001Z"), 0, INT64_C(1796322133000000001)},
        {S("2024-02-29T00:00:00Z"), 0, INT64_C(1709164800000000000)},
        {S("2000-02-29T12:00:00Z"), 0, INT64_C(951825600000000000)},
        {S("1900-03-01T00:00:00Z"), 0, INT64_C(-2203891200000000000)},
        {S("1969-12-31T23:59:59.5Z"), 0, INT64_C(-500000000)},
        /* A leap second counts into the next minute. */
        {S("2016-12-31T23:59:60Z"), 0, INT64_C(1483228800000000000)},
        {S("2026-01-01T00:00:00+23:59"), 0, INT64_C(1767139260000000000)},
        {S("2026-01-01T00:00:00-23:59"), 0, INT64_C(1767311940000000000)},
        {S("1970-01-01T00:00:00-00:00"), 0, 0},
        /* The int64 limits, exactly. */
        {S("2262-04-11T23:47:16.854775807Z"), 0, INT64_MAX},
        {S("2262-04-12T00:47:16.854775807+01:00"), 0, INT64_MAX},
        {S("1677-09-21T00:12:43.145224192Z"), 0, INT64_MIN},
        {S("1677-09-21T00:12:44Z"), 0, INT64_C(-9223372036000000000)},
    };

    (void)state;
    run_cases("rfc3339", sb__parse_rfc3339, cases, NCASES(cases));
}

static void test_rfc3339_rejects_malformed_timestamps(void **state)
{
    static const time_case cases[] = {
        {S(""), SB_EINVAL, 0},
        {S("2026-02-30T00:00:00Z"), SB_EINVAL, 0},
        {S("2025-02-29T00:00:00Z"), SB_EINVAL, 0},
        {S("1900-02-29T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-04-31T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-13-01T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-00-01T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-00T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-32T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T24:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T23:60:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T23:59:61Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00+24:00"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00+00:60"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00+0100"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00+01"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00+1:00"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00.Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00.1234567890Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00,5Z"), SB_EINVAL, 0},
        {S("20261-01-01T00:00:00Z"), SB_EINVAL, 0},
        {S("26-01-01T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-1-01T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-1T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T0:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:0Z"), SB_EINVAL, 0},
        {S("2026-01-01"), SB_EINVAL, 0},
        {S("2026-01-01T"), SB_EINVAL, 0},
        {S("2026-01-01T00:00"), SB_EINVAL, 0},
        {S("2026-01-01T00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01X00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01  00:00:00Z"), SB_EINVAL, 0},
        {S(" 2026-01-01T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00Z "), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00ZZ"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00Z\n"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00Z\0"), SB_EINVAL, 0},
        {S("2026-01-01T00:00\0:00Z"), SB_EINVAL, 0},
        {S("+2026-01-01T00:00:00Z"), SB_EINVAL, 0},
        {S("-2026-01-01T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00+01:00:00"), SB_EINVAL, 0},
        {S("2026-01-01T-1:00:00Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00.-1Z"), SB_EINVAL, 0},
        {S("2026-01-01T00:00:00.1e3Z"), SB_EINVAL, 0},
        {S("\xef\xbb\xbf"
           "2026-01-01T00:00:00Z"),
         SB_EINVAL, 0},
        {S("\xef\xbc\x92"
           "026-01-01T00:00:00Z"),
         SB_EINVAL, 0},
        {S("1733250133"), SB_EINVAL, 0},
        {S("now"), SB_EINVAL, 0},
    };

    (void)state;
    run_cases("rfc3339", sb__parse_rfc3339, cases, NCASES(cases));
}

static void test_rfc3339_rejects_times_outside_int64_ns(void **state)
{
    static const time_case cases[] = {
        {S("2262-04-11T23:47:16.854775808Z"), SB_ERANGE, 0},
        {S("2262-04-11T23:47:17Z"), SB_ERANGE, 0},
        {S("2262-04-11T23:47:16.854775807-00:01"), SB_ERANGE, 0},
        {S("1677-09-21T00:12:43.145224191Z"), SB_ERANGE, 0},
        {S("1677-09-21T00:12:43Z"), SB_ERANGE, 0},
        {S("1677-09-21T00:12:43.145224192+00:01"), SB_ERANGE, 0},
        {S("9999-12-31T23:59:60Z"), SB_ERANGE, 0},
        {S("0000-01-01T00:00:00Z"), SB_ERANGE, 0},
        {S("1000-01-01T00:00:00Z"), SB_ERANGE, 0},
    };

    (void)state;
    run_cases("rfc3339 range", sb__parse_rfc3339, cases, NCASES(cases));
}

#define SEC INT64_C(1000000000)

static void test_duration_parses_every_unit_and_combination(void **state)
{
    static const time_case cases[] = {
        {S("0s"), 0, 0},
        {S("0ns"), 0, 0},
        {S("1ns"), 0, 1},
        {S("1us"), 0, 1000},
        {S("1ms"), 0, 1000000},
        {S("1s"), 0, SEC},
        {S("1m"), 0, 60 * SEC},
        {S("1h"), 0, 3600 * SEC},
        {S("1d"), 0, 86400 * SEC},
        {S("1w"), 0, 604800 * SEC},
        {S("90s"), 0, 90 * SEC},
        {S("250ms"), 0, 250000000},
        {S("1h30m"), 0, 5400 * SEC},
        {S("1h1h"), 0, 7200 * SEC},
        {S("1m5s10ms"), 0, 65 * SEC + 10000000},
        {S("1.5s"), 0, 1500000000},
        {S("1.5h"), 0, 5400 * SEC},
        {S("0.5ms"), 0, 500000},
        {S("1.123456789s"), 0, 1123456789},
        {S("0.000000001s"), 0, 1},
        {S("1.123456789w"), 0, INT64_C(679466665987200)},
        {S("1.5us"), 0, 1500},
        {S("1.5ns"), 0, 1}, /* sub-nanosecond parts are truncated */
        {S("007s"), 0, 7 * SEC},
        {S("9223372036854775807ns"), 0, INT64_MAX},
        {S("106751d23h47m16s854ms775us807ns"), 0, INT64_MAX},
        {S("15250w"), 0, INT64_C(15250) * 604800 * SEC},
    };

    (void)state;
    run_cases("duration", sb__parse_duration, cases, NCASES(cases));
}

static void test_duration_rejects_malformed_and_overflowing(void **state)
{
    static const time_case cases[] = {
        {S(""), SB_EINVAL, 0},
        {S("5"), SB_EINVAL, 0},
        {S("1h30"), SB_EINVAL, 0},
        {S("s"), SB_EINVAL, 0},
        {S("-5m"), SB_EINVAL, 0},
        {S("+5m"), SB_EINVAL, 0},
        {S("1h-30m"), SB_EINVAL, 0},
        {S("5 m"), SB_EINVAL, 0},
        {S(" 5m"), SB_EINVAL, 0},
        {S("5m "), SB_EINVAL, 0},
        {S("5M"), SB_EINVAL, 0},
        {S("5S"), SB_EINVAL, 0},
        {S("5mm"), SB_EINVAL, 0},
        {S("5hm"), SB_EINVAL, 0},
        {S("5x"), SB_EINVAL, 0},
        {S("5sec"), SB_EINVAL, 0},
        {S("1.s"), SB_EINVAL, 0},
        {S(".5s"), SB_EINVAL, 0},
        {S("1..5s"), SB_EINVAL, 0},
        {S("1.5.5s"), SB_EINVAL, 0},
        {S("1,5s"), SB_EINVAL, 0},
        {S("1.1234567890s"), SB_EINVAL, 0},
        {S("1e3s"), SB_EINVAL, 0},
        {S("0x10s"), SB_EINVAL, 0},
        {S("inf"), SB_EINVAL, 0},
        {S("nans"), SB_EINVAL, 0},
        {S("5\xc2\xb5s"), SB_EINVAL, 0},
        {S("5m\0"), SB_EINVAL, 0},
        {S("5\0m"), SB_EINVAL, 0},
        {S("9223372036854775808ns"), SB_ERANGE, 0},
        {S("106751d23h47m16s854ms775us808ns"), SB_ERANGE, 0},
        {S("15251w"), SB_ERANGE, 0},
        {S("9223372037s"), SB_ERANGE, 0},
        {S("99999999999999999999999999999s"), SB_ERANGE, 0},
        {S("4611686018427387904ns4611686018427387904ns"), SB_ERANGE, 0},
    };

    (void)state;
    run_cases("duration", sb__parse_duration, cases, NCASES(cases));
}

#define NOW INT64_C(1796322133000000000)

static int parse_time_at_now(const char *s, size_t n, int64_t *out)
{
    return sb__parse_time(s, n, NOW, out);
}

static void test_time_parses_absolute_unix_and_relative_forms(void **state)
{
    static const time_case cases[] = {
        {S("now"), 0, NOW},
        {S("now-5m"), 0, NOW - 300 * SEC},
        {S("now-0s"), 0, NOW},
        {S("-5m"), 0, NOW - 300 * SEC},
        {S("-1h30m"), 0, NOW - 5400 * SEC},
        {S("-500ms"), 0, NOW - 500000000},
        {S("1733250133"), 0, INT64_C(1733250133) * SEC},
        {S("1733250133.25"), 0, INT64_C(1733250133250000000)},
        {S("1733250133.000000001"), 0, INT64_C(1733250133000000001)},
        {S("0"), 0, 0},
        {S("0.5"), 0, 500000000},
        {S("00001"), 0, SEC},
        {S("9223372036.854775807"), 0, INT64_MAX},
        {S("2026-12-03T18:22:13Z"), 0, INT64_C(1796322133000000000)},
        {S("2026-12-03 18:22:13.5+00:00"), 0, INT64_C(1796322133500000000)},
    };

    (void)state;
    run_cases("time", parse_time_at_now, cases, NCASES(cases));
}

static void test_time_rejects_malformed_input(void **state)
{
    static const time_case cases[] = {
        {S(""), SB_EINVAL, 0},
        {S("NOW"), SB_EINVAL, 0},
        {S("now "), SB_EINVAL, 0},
        {S("now-"), SB_EINVAL, 0},
        {S("now+5m"), SB_EINVAL, 0},
        {S("now -5m"), SB_EINVAL, 0},
        {S("now-5"), SB_EINVAL, 0},
        {S("now--5m"), SB_EINVAL, 0},
        {S("+5m"), SB_EINVAL, 0},
        {S("-"), SB_EINVAL, 0},
        {S("--5m"), SB_EINVAL, 0},
        {S("-5"), SB_EINVAL, 0},
        {S("-0"), SB_EINVAL, 0},
        {S("-1733250133"), SB_EINVAL, 0},
        {S("+1733250133"), SB_EINVAL, 0},
        {S(" 1733250133"), SB_EINVAL, 0},
        {S("1733250133 "), SB_EINVAL, 0},
        {S("1733250133."), SB_EINVAL, 0},
        {S(".5"), SB_EINVAL, 0},
        {S("1733250133.1234567891"), SB_EINVAL, 0},
        {S("1.7e9"), SB_EINVAL, 0},
        {S("1e400"), SB_EINVAL, 0},
        {S("0x10"), SB_EINVAL, 0},
        {S("NaN"), SB_EINVAL, 0},
        {S("inf"), SB_EINVAL, 0},
        {S("1733250133\0"), SB_EINVAL, 0},
        {S("17332\0"
           "50133"),
         SB_EINVAL, 0},
        {S("2026-02-30T00:00:00Z"), SB_EINVAL, 0},
        {S("2026-12-03"), SB_EINVAL, 0},
        {S("9223372036.854775808"), SB_ERANGE, 0},
        {S("9223372037"), SB_ERANGE, 0},
        {S("99999999999999999999999"), SB_ERANGE, 0},
        {S("2262-04-11T23:47:17Z"), SB_ERANGE, 0},
        {S("-15250w"), 0, NOW - INT64_C(15250) * 604800 * SEC},
        {S("-9223372036854775807ns"), 0, NOW - INT64_MAX},
    };

    (void)state;
    run_cases("time", parse_time_at_now, cases, NCASES(cases));
}

static void test_time_relative_underflow_is_range_error(void **state)
{
    int64_t out = 7;

    (void)state;
    assert_int_equal(sb__parse_time(S("-1ns"), INT64_MIN, &out), SB_ERANGE);
    assert_int_equal(sb__parse_time(S("now-1s"), INT64_MIN + 5, &out),
                     SB_ERANGE);
    assert_int_equal(out, 7);
    assert_int_equal(sb__parse_time(S("-5ns"), INT64_MIN + 5, &out), 0);
    assert_true(out == INT64_MIN);
    assert_int_equal(sb__parse_time(S("-0s"), INT64_MIN, &out), 0);
    assert_true(out == INT64_MIN);
}

static void test_time_rejects_null_input(void **state)
{
    int64_t out = 0;

    (void)state;
    assert_int_equal(sb__parse_time(NULL, 0, NOW, &out), SB_EINVAL);
    assert_int_equal(sb__parse_rfc3339(NULL, 0, &out), SB_EINVAL);
    assert_int_equal(sb__parse_duration(NULL, 0, &out), SB_EINVAL);
}

typedef struct secs_case {
    double secs;
    int rc;
    int64_t ns;
} secs_case;

static void test_unix_seconds_to_ns_rounds_and_limits(void **state)
{
    const secs_case cases[] = {
        {0.0, 0, 0},
        {-0.0, 0, 0},
        {1.0, 0, SEC},
        {1.5, 0, 1500000000},
        {1733250133.25, 0, INT64_C(1733250133250000000)},
        {1733250133.0, 0, INT64_C(1733250133000000000)},
        {1e-9, 0, 1},
        {0.4e-9, 0, 0},
        {0.6e-9, 0, 1},
        {9223372036.0, 0, INT64_C(9223372036000000000)},
        {9223372037.0, SB_ERANGE, 0},
        {nextafter(9223372037.0, 0.0), SB_ERANGE, 0},
        {1e19, SB_ERANGE, 0},
        {1e300, SB_ERANGE, 0},
        {-1.0, SB_ERANGE, 0},
        {-1e-300, SB_ERANGE, 0},
        {NAN, SB_ERANGE, 0},
        {INFINITY, SB_ERANGE, 0},
        {-INFINITY, SB_ERANGE, 0},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        int64_t got = 12345;
        int rc = sb__unix_seconds_to_ns(cases[i].secs, &got);

        if (rc != cases[i].rc || (rc == 0 && got != cases[i].ns)) {
            print_error("case %zu (%.17g): rc %d ns %lld\n", i, cases[i].secs,
                        rc, (long long)got);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_parses_valid_timestamps),
        cmocka_unit_test(test_rfc3339_rejects_malformed_timestamps),
        cmocka_unit_test(test_rfc3339_rejects_times_outside_int64_ns),
        cmocka_unit_test(test_duration_parses_every_unit_and_combination),
        cmocka_unit_test(test_duration_rejects_malformed_and_overflowing),
        cmocka_unit_test(test_time_parses_absolute_unix_and_relative_forms),
        cmocka_unit_test(test_time_rejects_malformed_input),
        cmocka_unit_test(test_time_relative_underflow_is_range_error),
        cmocka_unit_test(test_time_rejects_null_input),
        cmocka_unit_test(test_unix_seconds_to_ns_rounds_and_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
