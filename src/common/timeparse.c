/*
 * timeparse.c - strict parsers for the time and duration forms of
 * timeparse.h.
 *
 * Every parser reads a length-delimited byte range and accepts it only
 * when the whole range matches its grammar: no leading or trailing
 * spaces, no signs or exponents where the grammar has none, fixed-width
 * fields exactly as wide as specified. Numbers are accumulated digit by
 * digit into int64_t with overflow-checked arithmetic, never through
 * strtod, so the result is exact and locale-independent. Malformed text
 * is SB_EINVAL; well-formed text whose value does not fit an int64_t of
 * nanoseconds is SB_ERANGE.
 */
#include "common/timeparse.h"

#include "scoreboard.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define NS_PER_SEC  INT64_C(1000000000)
#define FRAC_DIGITS 9

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly width digits at s[*pos] (all within n) into *out. */
static int fixed_digits(const char *s, size_t n, size_t *pos, size_t width,
                        int *out)
{
    int v = 0;

    if (n - *pos < width)
        return SB_EINVAL;
    for (size_t i = 0; i < width; i++) {
        char c = s[*pos + i];

        if (!is_digit(c))
            return SB_EINVAL;
        v = v * 10 + (c - '0');
    }
    *pos += width;
    *out = v;
    return 0;
}

/* Expects the byte c at s[*pos] and steps over it. */
static int expect(const char *s, size_t n, size_t *pos, char c)
{
    if (*pos >= n || s[*pos] != c)
        return SB_EINVAL;
    (*pos)++;
    return 0;
}

/*
 * Reads a fraction of a second: s[*pos] is the first byte after the '.'.
 * One to nine digits are required; a tenth digit is an error rather than
 * silently dropped precision. *out_ns receives the fraction scaled to
 * nanoseconds.
 */
static int fraction_ns(const char *s, size_t n, size_t *pos, int64_t *out_ns)
{
    int64_t v = 0;
    size_t digits = 0;

    while (*pos < n && is_digit(s[*pos])) {
        if (digits == FRAC_DIGITS)
            return SB_EINVAL;
        v = v * 10 + (s[*pos] - '0');
        digits++;
        (*pos)++;
    }
    if (digits == 0)
        return SB_EINVAL;
    for (; digits < FRAC_DIGITS; digits++)
        v *= 10;
    *out_ns = v;
    return 0;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/*
 * Days from 1970-01-01 to the proleptic Gregorian date y-m-d. The year is
 * shifted to start in March so the leap day is the last day of a shifted
 * year; then whole 400-year eras (146097 days each) are counted, and the
 * day within the era follows from the year of era and the day of year.
 * Valid for the years 0..9999 that RFC 3339 can express.
 */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t mp = m > 2 ? m - 3 : m + 9;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

/*
 * Combines whole seconds and a nanosecond fraction in [0, 1e9) into
 * nanoseconds. For negative seconds the fraction is borrowed from the
 * next second first, so the most negative representable instant
 * (1677-09-21T00:12:43.145224192Z) does not overflow on the way.
 */
static int seconds_to_ns(int64_t secs, int64_t frac, int64_t *out_ns)
{
    int64_t ns;

    if (secs < 0 && frac > 0) {
        secs += 1;
        frac -= NS_PER_SEC;
    }
    if (__builtin_mul_overflow(secs, NS_PER_SEC, &ns) ||
        __builtin_add_overflow(ns, frac, &ns))
        return SB_ERANGE;
    *out_ns = ns;
    return 0;
}

typedef struct civil {
    int year, month, day, hour, minute, second;
    int64_t frac_ns;
    int offset_s; /* east of UTC */
} civil;

/* YYYY-MM-DD, each field validated against the calendar. */
static int parse_date(const char *s, size_t n, size_t *pos, civil *c)
{
    if (fixed_digits(s, n, pos, 4, &c->year) != 0 ||
        expect(s, n, pos, '-') != 0 ||
        fixed_digits(s, n, pos, 2, &c->month) != 0 ||
        expect(s, n, pos, '-') != 0 || fixed_digits(s, n, pos, 2, &c->day) != 0)
        return SB_EINVAL;
    if (c->month < 1 || c->month > 12 || c->day < 1 ||
        c->day > days_in_month(c->year, c->month))
        return SB_EINVAL;
    return 0;
}

/* HH:MM:SS[.fraction]; second 60 (a leap second) is accepted. */
static int parse_clock(const char *s, size_t n, size_t *pos, civil *c)
{
    if (fixed_digits(s, n, pos, 2, &c->hour) != 0 ||
        expect(s, n, pos, ':') != 0 ||
        fixed_digits(s, n, pos, 2, &c->minute) != 0 ||
        expect(s, n, pos, ':') != 0 ||
        fixed_digits(s, n, pos, 2, &c->second) != 0)
        return SB_EINVAL;
    if (c->hour > 23 || c->minute > 59 || c->second > 60)
        return SB_EINVAL;
    c->frac_ns = 0;
    if (*pos < n && s[*pos] == '.') {
        (*pos)++;
        return fraction_ns(s, n, pos, &c->frac_ns);
    }
    return 0;
}

/* Z, z or +HH:MM / -HH:MM, which must end the input. */
static int parse_offset(const char *s, size_t n, size_t *pos, civil *c)
{
    int sign, oh, om;

    if (*pos >= n)
        return SB_EINVAL;
    if (s[*pos] == 'Z' || s[*pos] == 'z') {
        (*pos)++;
        c->offset_s = 0;
        return *pos == n ? 0 : SB_EINVAL;
    }
    if (s[*pos] != '+' && s[*pos] != '-')
        return SB_EINVAL;
    sign = s[*pos] == '-' ? -1 : 1;
    (*pos)++;
    if (fixed_digits(s, n, pos, 2, &oh) != 0 || expect(s, n, pos, ':') != 0 ||
        fixed_digits(s, n, pos, 2, &om) != 0)
        return SB_EINVAL;
    if (oh > 23 || om > 59 || *pos != n)
        return SB_EINVAL;
    c->offset_s = sign * (oh * 3600 + om * 60);
    return 0;
}

int sb__parse_rfc3339(const char *s, size_t n, int64_t *out_ns)
{
    civil c;
    size_t pos = 0;
    int64_t secs;

    if (s == NULL || parse_date(s, n, &pos, &c) != 0)
        return SB_EINVAL;
    if (pos >= n || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
        return SB_EINVAL;
    pos++;
    if (parse_clock(s, n, &pos, &c) != 0 || parse_offset(s, n, &pos, &c) != 0)
        return SB_EINVAL;

    /* Years 0..9999 keep this far from int64 limits; only the
     * conversion to nanoseconds can overflow. A second of 60 simply
     * counts into the next minute. */
    secs = days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 +
           c.minute * 60 + c.second - c.offset_s;
    return seconds_to_ns(secs, c.frac_ns, out_ns);
}

/* Reads one or more decimal digits into *out; SB_ERANGE on overflow. */
static int decimal_digits(const char *s, size_t n, size_t *pos, int64_t *out)
{
    int64_t v = 0;
    size_t start = *pos;

    while (*pos < n && is_digit(s[*pos])) {
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, s[*pos] - '0', &v))
            return SB_ERANGE;
        (*pos)++;
    }
    if (*pos == start)
        return SB_EINVAL;
    *out = v;
    return 0;
}

typedef struct unit {
    const char *name;
    size_t len;
    int64_t ns;
} unit;

static const unit units[] = {
    {"ns", 2, 1},
    {"us", 2, 1000},
    {"ms", 2, 1000000},
    {"s", 1, NS_PER_SEC},
    {"m", 1, 60 * NS_PER_SEC},
    {"h", 1, 3600 * NS_PER_SEC},
    {"d", 1, 86400 * NS_PER_SEC},
    {"w", 1, 604800 * NS_PER_SEC},
};

/* Reads the run of letters at s[*pos] and looks it up as a unit. */
static int read_unit(const char *s, size_t n, size_t *pos, int64_t *unit_ns)
{
    size_t start = *pos;
    size_t len;

    while (*pos < n && s[*pos] >= 'a' && s[*pos] <= 'z')
        (*pos)++;
    len = *pos - start;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (units[i].len == len && memcmp(units[i].name, s + start, len) == 0) {
            *unit_ns = units[i].ns;
            return 0;
        }
    }
    return SB_EINVAL;
}

/*
 * Scales a fraction of a unit: the digits after the '.' are walked with
 * the unit divided by ten per digit, which is exact for every unit from
 * a second up (all are multiples of 1e9) and truncates sub-nanosecond
 * parts of the smaller ones. At most nine digits are accepted.
 */
static int unit_fraction(const char *s, size_t n, size_t *pos, int64_t unit_ns,
                         int64_t *out)
{
    int64_t v = 0;
    int64_t scale = unit_ns;
    size_t digits = 0;

    while (*pos < n && is_digit(s[*pos])) {
        if (digits == FRAC_DIGITS)
            return SB_EINVAL;
        scale /= 10;
        v += (s[*pos] - '0') * scale;
        digits++;
        (*pos)++;
    }
    if (digits == 0)
        return SB_EINVAL;
    *out = v;
    return 0;
}

/* One <number><unit> group starting at s[*pos], added to *total. */
static int duration_group(const char *s, size_t n, size_t *pos, int64_t *total)
{
    int64_t whole, unit_ns, frac = 0, v;
    size_t frac_start = 0, frac_end = 0;
    int rc;

    rc = decimal_digits(s, n, pos, &whole);
    if (rc != 0)
        return rc;
    if (*pos < n && s[*pos] == '.') {
        /* The unit follows the fraction: remember where the digits are
         * and scale them once the unit is known. */
        frac_start = ++(*pos);
        while (*pos < n && is_digit(s[*pos]))
            (*pos)++;
        frac_end = *pos;
    }
    if (read_unit(s, n, pos, &unit_ns) != 0)
        return SB_EINVAL;
    if (frac_start != 0 &&
        unit_fraction(s, frac_end, &frac_start, unit_ns, &frac) != 0)
        return SB_EINVAL;
    if (__builtin_mul_overflow(whole, unit_ns, &v) ||
        __builtin_add_overflow(v, frac, &v) ||
        __builtin_add_overflow(*total, v, total))
        return SB_ERANGE;
    return 0;
}

int sb__parse_duration(const char *s, size_t n, int64_t *out_ns)
{
    size_t pos = 0;
    int64_t total = 0;
    int rc;

    if (s == NULL || n == 0)
        return SB_EINVAL;
    while (pos < n) {
        rc = duration_group(s, n, &pos, &total);
        if (rc != 0)
            return rc;
    }
    *out_ns = total;
    return 0;
}

/* Digits with an optional fraction of up to nine digits, nothing else. */
static int parse_unix_seconds(const char *s, size_t n, int64_t *out_ns)
{
    size_t pos = 0;
    int64_t secs, frac = 0;
    int rc;

    rc = decimal_digits(s, n, &pos, &secs);
    if (rc != 0)
        return rc;
    if (pos < n && s[pos] == '.') {
        pos++;
        if (fraction_ns(s, n, &pos, &frac) != 0)
            return SB_EINVAL;
    }
    if (pos != n)
        return SB_EINVAL;
    return seconds_to_ns(secs, frac, out_ns);
}

/* now_ns minus a duration; SB_ERANGE when that falls below INT64_MIN. */
static int parse_before_now(const char *s, size_t n, int64_t now_ns,
                            int64_t *out_ns)
{
    int64_t d, t;
    int rc;

    rc = sb__parse_duration(s, n, &d);
    if (rc != 0)
        return rc;
    if (__builtin_sub_overflow(now_ns, d, &t))
        return SB_ERANGE;
    *out_ns = t;
    return 0;
}

int sb__parse_time(const char *s, size_t n, int64_t now_ns, int64_t *out_ns)
{
    if (s == NULL || n == 0)
        return SB_EINVAL;
    if (n == 3 && memcmp(s, "now", 3) == 0) {
        *out_ns = now_ns;
        return 0;
    }
    if (n > 4 && memcmp(s, "now-", 4) == 0)
        return parse_before_now(s + 4, n - 4, now_ns, out_ns);
    if (s[0] == '-')
        return parse_before_now(s + 1, n - 1, now_ns, out_ns);

    /* An RFC 3339 time always has '-' at index 4; Unix seconds never do. */
    if (n > 4 && s[4] == '-')
        return sb__parse_rfc3339(s, n, out_ns);
    return parse_unix_seconds(s, n, out_ns);
}

int sb__unix_seconds_to_ns(double secs, int64_t *out_ns)
{
    double whole, frac;
    int64_t frac_ns;

    /* 9223372037 s is past INT64_MAX ns; the comparison also rejects NaN
     * and both infinities. -0.0 compares equal to 0 and is accepted. */
    if (!(secs >= 0.0 && secs < 9223372037.0))
        return SB_ERANGE;
    whole = floor(secs);
    frac = secs - whole; /* exact in binary floating point */
    frac_ns = (int64_t)llround(frac * 1e9);
    return seconds_to_ns((int64_t)whole, frac_ns, out_ns);
}
