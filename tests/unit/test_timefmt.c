/*
 * test_timefmt.c - sb__fmt_rfc3339 and sb__fmt_duration: exact strings
 * for a table of times (epoch, negative times, leap days, the int64_t
 * limits, fraction trimming), a cross-check against gmtime_r() over
 * random times, and duration formatting including truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeparse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SEC 1000000000LL

static void test_timefmt_rfc3339_table(void **state)
{
    static const struct {
        int64_t ns;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {1, "1970-01-01T00:00:00.000000001Z"},
        {-1, "1969-12-31T23:59:59.999999999Z"},
        {-SEC, "1969-12-31T23:59:59Z"},
        {-SEC / 2, "1969-12-31T23:59:59.5Z"},
        {-SEC - 1, "1969-12-31T23:59:58.999999999Z"},
        {1796322133 * SEC + 120000000, "2026-12-03T18:22:13.12Z"},
        {1796322133 * SEC, "2026-12-03T18:22:13Z"},
        {1796322133 * SEC + 1, "2026-12-03T18:22:13.000000001Z"},
        {1796322133 * SEC + 100000000, "2026-12-03T18:22:13.1Z"},
        {1796322133 * SEC + 123456789, "2026-12-03T18:22:13.123456789Z"},
        {1796322133 * SEC + 999999999, "2026-12-03T18:22:13.999999999Z"},
        {1796322133 * SEC + 10, "2026-12-03T18:22:13.00000001Z"},
        {1709164800 * SEC, "2024-02-29T00:00:00Z"},
        {1709164800 * SEC - 1, "2024-02-28T23:59:59.999999999Z"},
        {951825600 * SEC, "2000-02-29T12:00:00Z"},
        {-2203891200 * SEC, "1900-03-01T00:00:00Z"},
        {-2203891201 * SEC, "1900-02-28T23:59:59Z"},
        {4107542399 * SEC, "2100-02-28T23:59:59Z"},
        {4107542400 * SEC, "2100-03-01T00:00:00Z"},
        {-8520336000 * SEC, "1700-01-01T00:00:00Z"},
        {-14182940 * SEC, "1969-07-20T20:17:40Z"},
        {INT64_MIN, "1677-09-21T00:12:43.145224192Z"},
        {INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
    };
    char out[SB_RFC3339_MAX + 1];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = sb__fmt_rfc3339(cases[i].ns, out);

        assert_string_equal(out, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
        assert_true(n <= SB_RFC3339_MAX);
    }
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t xorshift64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The expected text built from gmtime_r() and a hand-trimmed fraction. */
static void reference_rfc3339(int64_t ns, char *out, size_t n)
{
    int64_t secs = ns / SEC;
    int64_t frac = ns % SEC;
    time_t t;
    struct tm tm;
    char fr[16] = "";
    size_t len;

    if (frac < 0) {
        frac += SEC;
        secs--;
    }
    t = (time_t)secs;
    assert_non_null(gmtime_r(&t, &tm));
    if (frac != 0) {
        snprintf(fr, sizeof fr, ".%09" PRId64, frac);
        len = strlen(fr);
        while (fr[len - 1] == '0')
            fr[--len] = '\0';
    }
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fr);
}

static void test_timefmt_rfc3339_matches_gmtime(void **state)
{
    char out[SB_RFC3339_MAX + 1], want[64];
    int i;

    (void)state;
    for (i = 0; i < 100000; i++) {
        uint64_t r = xorshift64();
        int64_t ns;

        /* Alternate full-range times with whole seconds, and times with a
         * few fraction digits so trimming is exercised at every length. */
        if (i % 3 == 0)
            ns = (int64_t)r;
        else if (i % 3 == 1)
            ns = ((int64_t)(r % 18000000000ULL) - 9000000000LL) * SEC;
        else
            ns = (int64_t)r / 16 / SEC * SEC + (int64_t)(r & 15) * 100000000;
        reference_rfc3339(ns, want, sizeof want);
        sb__fmt_rfc3339(ns, out);
        if (strcmp(out, want) != 0)
            fail_msg("%" PRId64 ": got %s, want %s", ns, out, want);
    }
}

static void test_timefmt_duration_table(void **state)
{
    static const struct {
        int64_t ns;
        const char *text;
    } cases[] = {
        {0, "0s"},
        {1, "1ns"},
        {999, "999ns"},
        {1000, "1us"},
        {1500, "1us500ns"},
        {250000000, "250ms"},
        {SEC, "1s"},
        {SEC * 3 / 2, "1s500ms"},
        {90 * SEC, "1m30s"},
        {3600 * SEC, "1h"},
        {3605 * SEC, "1h5s"},
        {5400 * SEC, "1h30m"},
        {48 * 3600 * SEC, "48h"},
        {-90 * SEC, "-1m30s"},
        {-1, "-1ns"},
        {INT64_MAX, "2562047h47m16s854ms775us807ns"},
        {INT64_MIN, "-2562047h47m16s854ms775us808ns"},
    };
    char out[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = sb__fmt_duration(cases[i].ns, out, sizeof out);

        assert_string_equal(out, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
    }
}

static void test_timefmt_duration_truncates_to_buffer(void **state)
{
    char out[8];

    (void)state;
    memset(out, 'x', sizeof out);
    assert_int_equal(sb__fmt_duration(90 * SEC, out, 0), 0);
    assert_int_equal(out[0], 'x');

    assert_int_equal(sb__fmt_duration(90 * SEC, out, 1), 0);
    assert_string_equal(out, "");

    assert_int_equal(sb__fmt_duration(90 * SEC, out, 4), 3);
    assert_string_equal(out, "1m3");

    assert_int_equal(sb__fmt_duration(-90 * SEC, out, 2), 1);
    assert_string_equal(out, "-");

    assert_int_equal(sb__fmt_duration(90 * SEC, out, 6), 5);
    assert_string_equal(out, "1m30s");
}

/* Non-negative durations read back through the parser of the same
 * header, so logs show text a user can paste into a query. */
static void test_timefmt_duration_parses_back(void **state)
{
    char out[64];
    int i;

    (void)state;
    for (i = 0; i < 10000; i++) {
        int64_t ns = (int64_t)(xorshift64() % (1000ULL * 3600 * SEC));
        int64_t back = -1;
        size_t n;

        if (i % 2 == 0)
            ns -= ns % 1000000; /* whole milliseconds, as logs mostly show */
        n = sb__fmt_duration(ns, out, sizeof out);
        assert_int_equal(sb__parse_duration(out, n, &back), 0);
        assert_int_equal(back, ns);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timefmt_rfc3339_table),
        cmocka_unit_test(test_timefmt_rfc3339_matches_gmtime),
        cmocka_unit_test(test_timefmt_duration_table),
        cmocka_unit_test(test_timefmt_duration_truncates_to_buffer),
        cmocka_unit_test(test_timefmt_duration_parses_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
