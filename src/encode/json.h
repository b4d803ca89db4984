/*
 * json.h - a streaming JSON writer appending to an sb_buf.
 *
 * The writer tracks nesting so commas and colons are placed for the
 * caller; it never builds a tree. Errors are sticky: after the first
 * failure (allocation, cap, misuse such as a value where a key is due)
 * every call is a no-op and sb__jw_error() reports the first error.
 *
 * Strings are written as JSON strings with '"', '\\' and every control
 * byte escaped (\b \f \n \r \t, others as \u00XX), and with DEL and the
 * line separators U+2028/U+2029 escaped as \u007f, \u2028, \u2029 so the
 * output is also safe to embed in JavaScript. Input that is not valid
 * UTF-8 (overlong forms, surrogates, code points above U+10FFFF,
 * truncated sequences) has each offending byte replaced by U+FFFD, so the
 * output is always valid UTF-8 and the same input always gives the same
 * output.
 *
 * Numbers: doubles use the shortest text that strtod() reads back to the
 * identical bits; non-finite doubles are written as the JSON strings
 * "NaN", "+Inf" and "-Inf" (the same spellings POST /metrics accepts).
 */
#ifndef SB_ENCODE_JSON_H
#define SB_ENCODE_JSON_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_JW_MAX_DEPTH 32

typedef struct sb_jw {
    sb_buf *out;
    int err;
    unsigned depth;
    /* per level: bit0 = is object, bit1 = has items, bit2 = key written */
    uint8_t state[SB_JW_MAX_DEPTH];
    bool top_done;
} sb_jw;

void sb__jw_init(sb_jw *w, sb_buf *out);
int sb__jw_error(const sb_jw *w);

void sb__jw_object_begin(sb_jw *w);
void sb__jw_object_end(sb_jw *w);
void sb__jw_array_begin(sb_jw *w);
void sb__jw_array_end(sb_jw *w);
void sb__jw_key(sb_jw *w, const char *key);
void sb__jw_key_n(sb_jw *w, const char *key, size_t n);
void sb__jw_string(sb_jw *w, const char *s);
void sb__jw_string_n(sb_jw *w, const char *s, size_t n);
void sb__jw_double(sb_jw *w, double v);
void sb__jw_int(sb_jw *w, int64_t v);
void sb__jw_uint(sb_jw *w, uint64_t v);
void sb__jw_bool(sb_jw *w, bool v);
void sb__jw_null(sb_jw *w);
/* An RFC 3339 UTC time string, see sb__fmt_rfc3339(). */
void sb__jw_time(sb_jw *w, int64_t ns);

/* Appends s as a quoted, escaped JSON string to b (no writer state). */
int sb__json_append_string(sb_buf *b, const char *s, size_t n);

/* Longest output of sb__fmt_double, without the NUL. */
#define SB_DOUBLE_MAX 32

/* Shortest round-trip text of a finite double ("0.1", "1e+300", "-0");
 * "NaN", "+Inf" or "-Inf" otherwise (unquoted). out holds
 * SB_DOUBLE_MAX + 1 bytes. Returns the length (NUL excluded). */
size_t sb__fmt_double(double v, char *out);

#endif
