/*
 * json.c - the streaming JSON writer and string escaping (see json.h).
 *
 * Writer state: state[i] describes the container open at depth i + 1
 * (bit0 object, bit1 it has an item, bit2 a key is written and its value
 * is due). A comma is written before every item but the first of its
 * container; in an object the key counts as the item start and its value
 * follows the colon. At depth 0 exactly one value may be written
 * (top_done). Any misuse sets err to SB_EINVAL; buffer failures set the
 * buffer's code; once err is set every call returns at once.
 *
 * String escaping is one routine run twice: first to count the output
 * bytes, then to write them into space reserved once, so a string is
 * either appended whole or not at all.
 */
#include "encode/json.h"

#include "common/timeparse.h"
#include "scoreboard.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
    ST_OBJECT = 1,
    ST_ITEMS = 2,
    ST_KEY = 4,
};

static const char hex_digits[] = "0123456789abcdef";

/* ------------------------------------------------------------ escaping */

/*
 * Length (2-4) of the well-formed UTF-8 sequence of a non-ASCII lead byte
 * at p, or 0 when the byte cannot start one within the rem bytes left.
 * Well-formed means the shortest form of a scalar value: no overlong
 * forms (C0, C1, E0 80-9F, F0 80-8F), no surrogates (ED A0-BF), nothing
 * above U+10FFFF (F4 90-BF, F5-FF), every continuation byte 80-BF.
 */
static size_t utf8_len(const unsigned char *p, size_t rem)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, i;

    if (p[0] < 0xC2)
        return 0;
    if (p[0] < 0xE0) {
        len = 2;
    } else if (p[0] < 0xF0) {
        len = 3;
        lo = p[0] == 0xE0 ? 0xA0 : 0x80;
        hi = p[0] == 0xED ? 0x9F : 0xBF;
    } else if (p[0] < 0xF5) {
        len = 4;
        lo = p[0] == 0xF0 ? 0x90 : 0x80;
        hi = p[0] == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (rem < len || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    }
    return len;
}

/* Copies n bytes to dst + *at unless dst is NULL (counting pass). */
static void emit(char *dst, size_t *at, const void *src, size_t n)
{
    if (dst != NULL)
        memcpy(dst + *at, src, n);
    *at += n;
}

/* Escapes the ASCII byte c (below 0x80). */
static void emit_ascii(char *dst, size_t *at, unsigned char c)
{
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};
    char two[2] = {'\\', 0};

    switch (c) {
    case '"':
    case '\\':
        two[1] = (char)c;
        break;
    case '\b':
        two[1] = 'b';
        break;
    case '\f':
        two[1] = 'f';
        break;
    case '\n':
        two[1] = 'n';
        break;
    case '\r':
        two[1] = 'r';
        break;
    case '\t':
        two[1] = 't';
        break;
    default:
        if (c >= 0x20 && c != 0x7F) {
            emit(dst, at, &c, 1);
            return;
        }
        esc[4] = hex_digits[c >> 4];
        esc[5] = hex_digits[c & 15];
        emit(dst, at, esc, sizeof esc);
        return;
    }
    emit(dst, at, two, sizeof two);
}

/*
 * Escapes s[0..n) into dst (or only counts when dst is NULL) and returns
 * the output length. Bytes that need no escaping are copied in runs.
 */
static size_t escape(char *dst, const unsigned char *s, size_t n)
{
    size_t at = 0, i = 0;

    while (i < n) {
        size_t run = i, len;

        while (run < n && s[run] >= 0x20 && s[run] < 0x7F && s[run] != '"' &&
               s[run] != '\\')
            run++;
        if (run > i) {
            emit(dst, &at, s + i, run - i);
            i = run;
            continue;
        }
        if (s[i] < 0x80) {
            emit_ascii(dst, &at, s[i++]);
            continue;
        }
        len = utf8_len(s + i, n - i);
        if (len == 0) {
            emit(dst, &at, "\xEF\xBF\xBD", 3); /* U+FFFD */
            i++;
        } else if (len == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 &&
                   (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            emit(dst, &at, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
            i += 3;
        } else {
            emit(dst, &at, s + i, len);
            i += len;
        }
    }
    return at;
}

/* Strings up to this many bytes are escaped in a single pass. */
#define SHORT_STRING 1024

int sb__json_append_string(sb_buf *b, const char *s, size_t n)
{
    size_t len;
    int rc;

    if (s == NULL && n != 0)
        return SB_EINVAL;
    /* Each input byte yields at most 6 output bytes. */
    if (n > (SIZE_MAX - 2) / 6)
        return SB_ETOOLARGE;

    /* Short strings (names, labels) reserve the worst case and escape in
     * one pass; long ones, and a capped buffer without room for the worst
     * case, measure first. */
    if (n <= SHORT_STRING && sb__buf_reserve(b, 6 * n + 2) == SB_OK) {
        len = escape(b->data + b->len + 1, (const unsigned char *)s, n) + 2;
        b->data[b->len] = '"';
        b->data[b->len + len - 1] = '"';
        b->len += len;
        b->data[b->len] = '\0';
        return SB_OK;
    }
    len = escape(NULL, (const unsigned char *)s, n) + 2;
    rc = sb__buf_reserve(b, len);
    if (rc != SB_OK)
        return rc;
    b->data[b->len] = '"';
    escape(b->data + b->len + 1, (const unsigned char *)s, n);
    b->data[b->len + len - 1] = '"';
    b->len += len;
    b->data[b->len] = '\0';
    return SB_OK;
}

/* -------------------------------------------------------------- writer */

void sb__jw_init(sb_jw *w, sb_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

int sb__jw_error(const sb_jw *w)
{
    return w->err;
}

static void put(sb_jw *w, const char *s, size_t n)
{
    int rc;

    if (w->err != 0)
        return;
    rc = sb__buf_append(w->out, s, n);
    if (rc != SB_OK)
        w->err = rc;
}

/*
 * Prepares for a value: checks a value is allowed here and writes the
 * comma an array item needs. Returns false (with err set) otherwise.
 */
static bool begin_value(sb_jw *w)
{
    uint8_t *st;

    if (w->err != 0)
        return false;
    if (w->depth == 0) {
        if (w->top_done)
            w->err = SB_EINVAL;
        return w->err == 0;
    }
    st = &w->state[w->depth - 1];
    if (*st & ST_OBJECT) {
        if (!(*st & ST_KEY))
            w->err = SB_EINVAL;
        *st &= (uint8_t)~ST_KEY;
        return w->err == 0;
    }
    if (*st & ST_ITEMS)
        put(w, ",", 1);
    *st |= ST_ITEMS;
    return w->err == 0;
}

/* Marks a complete value at depth 0. */
static void end_value(sb_jw *w)
{
    if (w->depth == 0 && w->err == 0)
        w->top_done = true;
}

static void container_begin(sb_jw *w, bool object)
{
    if (!begin_value(w))
        return;
    if (w->depth == SB_JW_MAX_DEPTH) {
        w->err = SB_EINVAL;
        return;
    }
    put(w, object ? "{" : "[", 1);
    w->state[w->depth++] = object ? ST_OBJECT : 0;
}

static void container_end(sb_jw *w, bool object)
{
    uint8_t st;

    if (w->err != 0)
        return;
    if (w->depth == 0) {
        w->err = SB_EINVAL;
        return;
    }
    st = w->state[w->depth - 1];
    if (((st & ST_OBJECT) != 0) != object || (st & ST_KEY)) {
        w->err = SB_EINVAL;
        return;
    }
    put(w, object ? "}" : "]", 1);
    w->depth--;
    end_value(w);
}

void sb__jw_object_begin(sb_jw *w)
{
    container_begin(w, true);
}

void sb__jw_object_end(sb_jw *w)
{
    container_end(w, true);
}

void sb__jw_array_begin(sb_jw *w)
{
    container_begin(w, false);
}

void sb__jw_array_end(sb_jw *w)
{
    container_end(w, false);
}

void sb__jw_key_n(sb_jw *w, const char *key, size_t n)
{
    uint8_t *st;
    int rc;

    if (w->err != 0)
        return;
    st = w->depth > 0 ? &w->state[w->depth - 1] : NULL;
    if (st == NULL || !(*st & ST_OBJECT) || (*st & ST_KEY)) {
        w->err = SB_EINVAL;
        return;
    }
    if (*st & ST_ITEMS)
        put(w, ",", 1);
    if (w->err == 0) {
        rc = sb__json_append_string(w->out, key, n);
        if (rc != SB_OK)
            w->err = rc;
    }
    put(w, ":", 1);
    *st |= ST_ITEMS | ST_KEY;
}

void sb__jw_key(sb_jw *w, const char *key)
{
    if (key == NULL) {
        if (w->err == 0)
            w->err = SB_EINVAL;
        return;
    }
    sb__jw_key_n(w, key, strlen(key));
}

void sb__jw_string_n(sb_jw *w, const char *s, size_t n)
{
    int rc;

    if (!begin_value(w))
        return;
    rc = sb__json_append_string(w->out, s, n);
    if (rc != SB_OK)
        w->err = rc;
    end_value(w);
}

void sb__jw_string(sb_jw *w, const char *s)
{
    if (s == NULL) {
        if (w->err == 0)
            w->err = SB_EINVAL;
        return;
    }
    sb__jw_string_n(w, s, strlen(s));
}

/* Writes already formatted scalar text as the next value. */
static void raw_value(sb_jw *w, const char *s, size_t n)
{
    if (!begin_value(w))
        return;
    put(w, s, n);
    end_value(w);
}

void sb__jw_double(sb_jw *w, double v)
{
    char txt[SB_DOUBLE_MAX + 1];
    size_t n = sb__fmt_double(v, txt);

    if (isfinite(v))
        raw_value(w, txt, n);
    else
        sb__jw_string_n(w, txt, n);
}

void sb__jw_int(sb_jw *w, int64_t v)
{
    char txt[24];
    int n = snprintf(txt, sizeof txt, "%" PRId64, v);

    raw_value(w, txt, (size_t)n);
}

void sb__jw_uint(sb_jw *w, uint64_t v)
{
    char txt[24];
    int n = snprintf(txt, sizeof txt, "%" PRIu64, v);

    raw_value(w, txt, (size_t)n);
}

void sb__jw_bool(sb_jw *w, bool v)
{
    raw_value(w, v ? "true" : "false", v ? 4 : 5);
}

void sb__jw_null(sb_jw *w)
{
    raw_value(w, "null", 4);
}

void sb__jw_time(sb_jw *w, int64_t ns)
{
    char txt[SB_RFC3339_MAX + 1];
    size_t n = sb__fmt_rfc3339(ns, txt);

    sb__jw_string_n(w, txt, n);
}
