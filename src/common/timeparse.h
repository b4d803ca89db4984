/*
 * timeparse.h - parsing and formatting of times and durations.
 *
 * Accepted time forms (sb__parse_time):
 *   RFC 3339          2026-12-03T18:22:13Z, 2026-12-03t18:22:13.123456789+01:00
 *                     (T or t or one space between date and time, Z/z or an
 *                     offset; up to 9 fraction digits, more are rejected)
 *   Unix seconds      1733250133 or 1733250133.25 (non-negative)
 *   relative          now, -5m, -1h30m, -500ms, now-5m (before now_ns)
 * Accepted durations (sb__parse_duration): one or more <number><unit>
 * groups, number a non-negative decimal, unit one of ns us ms s m h d w,
 * e.g. 1h, 90s, 1h30m, 1.5s, 250ms.
 *
 * Every result must fit an int64_t of nanoseconds (years 1677-2262);
 * anything else is SB_ERANGE. Malformed text is SB_EINVAL. Input is
 * length-delimited and need not be NUL-terminated.
 */
#ifndef SB_COMMON_TIMEPARSE_H
#define SB_COMMON_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

int sb__parse_duration(const char *s, size_t n, int64_t *out_ns);
int sb__parse_rfc3339(const char *s, size_t n, int64_t *out_ns);
int sb__parse_time(const char *s, size_t n, int64_t now_ns, int64_t *out_ns);

/* Converts Unix seconds given as a double to nanoseconds, rounding to the
 * nearest nanosecond. SB_ERANGE for negative, non-finite or too large. */
int sb__unix_seconds_to_ns(double secs, int64_t *out_ns);

/* Longest output of sb__fmt_rfc3339, without the NUL. */
#define SB_RFC3339_MAX 35

/* Formats ns as RFC 3339 UTC with the fraction's trailing zeros trimmed
 * (2026-12-03T18:22:13.12Z; no fraction when it is zero). out must hold
 * SB_RFC3339_MAX + 1 bytes. Returns the length written (NUL excluded). */
size_t sb__fmt_rfc3339(int64_t ns, char *out);

/* Formats a duration compactly for logs: 1h, 90s -> 1m30s, 250ms. */
size_t sb__fmt_duration(int64_t ns, char *out, size_t n);

#endif
