/*
 * timefmt.c - RFC 3339 and duration formatting (the parsing half of
 * timeparse.h lives in timeparse.c).
 *
 * Times are int64_t nanoseconds since 1970-01-01T00:00:00Z, so every value
 * lies between 1677-09-21 and 2262-04-11 and the year always has four
 * digits. Negative times are split with floor division, so the seconds
 * part rounds toward minus infinity and the fraction is always in
 * [0, 1e9): -1 ns is 1969-12-31T23:59:59.999999999Z. The calendar is the
 * proleptic Gregorian one, computed arithmetically (no gmtime, no locks,
 * no global state).
 */
#include "common/timeparse.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define NS_PER_SEC  1000000000LL
#define SEC_PER_DAY 86400LL

/* "00".."99" so two digits cost one copy. */
static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

static void put2(char *out, unsigned v)
{
    memcpy(out, digit_pairs + 2 * v, 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * Converts days since 1970-01-01 to a Gregorian date. The year is shifted
 * to start on March 1 so the leap day is the last day of its year; then a
 * 400-year era holds exactly 146097 days, the day of the era gives the
 * year of the era (correcting for the 4/100/400-year leap rules), and the
 * day of that March-based year gives the month through the 153-days-per-
 * 5-months pattern of month lengths from March on.
 */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month,
                            unsigned *day)
{
    int64_t z = days + 719468; /* days from 0000-03-01 */
    int64_t era = floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153; /* 0 = March */

    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = era * 400 + (int64_t)yoe + (*month <= 2);
}

size_t sb__fmt_rfc3339(int64_t ns, char *out)
{
    /* secs * NS_PER_SEC can overflow near INT64_MIN: take the remainder. */
    int64_t rem = ns % NS_PER_SEC;
    int64_t secs = ns / NS_PER_SEC - (rem < 0);
    unsigned frac = (unsigned)(rem < 0 ? rem + NS_PER_SEC : rem);
    int64_t days = floor_div(secs, SEC_PER_DAY);
    unsigned sod = (unsigned)(secs - days * SEC_PER_DAY);
    int64_t year;
    unsigned month, day, y;
    size_t len = 19;
    int i;

    civil_from_days(days, &year, &month, &day);
    y = (unsigned)year; /* 1677..2262 for any int64_t */
    put2(out, y / 100);
    put2(out + 2, y % 100);
    out[4] = '-';
    put2(out + 5, month);
    out[7] = '-';
    put2(out + 8, day);
    out[10] = 'T';
    put2(out + 11, sod / 3600);
    out[13] = ':';
    put2(out + 14, sod / 60 % 60);
    out[16] = ':';
    put2(out + 17, sod % 60);

    if (frac != 0) {
        out[len++] = '.';
        for (i = 8; i >= 0; i--) {
            out[len + (size_t)i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        len += 9;
        while (out[len - 1] == '0')
            len--;
    }
    out[len++] = 'Z';
    out[len] = '\0';
    return len;
}

/* Appends "<v><unit>" to out (capacity n) at *len, truncating silently. */
static void put_unit(char *out, size_t n, size_t *len, uint64_t v,
                     const char *unit)
{
    char tmp[24];
    size_t tl = 0, ul = strlen(unit), i;

    do {
        tmp[sizeof tmp - 1 - tl++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (i = 0; i < tl && *len + 1 < n; i++)
        out[(*len)++] = tmp[sizeof tmp - tl + i];
    for (i = 0; i < ul && *len + 1 < n; i++)
        out[(*len)++] = unit[i];
}

/*
 * Go-style compact durations: the non-zero parts among h, m, s, ms, us,
 * ns from largest to smallest, each a whole number, e.g. 1h, 1m30s, 1h5s
 * (zero parts are left out), 1s500ms, 250ms, 0s for zero, and a leading
 * '-' for negative values. The text reads back through
 * sb__parse_duration() (apart from the sign). Writes at most n - 1 bytes
 * and a NUL (nothing when n is 0), truncating longer text; the longest
 * possible is "-2562047h47m16s854ms775us808ns", 30 bytes. Returns the
 * length written.
 */
size_t sb__fmt_duration(int64_t ns, char *out, size_t n)
{
    static const struct {
        uint64_t ns;
        const char *unit;
    } units[] = {
        {3600000000000ULL, "h"}, {60000000000ULL, "m"}, {1000000000ULL, "s"},
        {1000000ULL, "ms"},      {1000ULL, "us"},       {1ULL, "ns"},
    };
    uint64_t rest;
    size_t len = 0, i;

    if (n == 0)
        return 0;
    /* The magnitude of INT64_MIN only fits unsigned. */
    rest = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0 && len + 1 < n)
        out[len++] = '-';
    if (rest == 0)
        put_unit(out, n, &len, 0, "s");
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (rest >= units[i].ns) {
            put_unit(out, n, &len, rest / units[i].ns, units[i].unit);
            rest %= units[i].ns;
        }
    }
    out[len] = '\0';
    return len;
}
