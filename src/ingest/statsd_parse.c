/*
 * statsd_parse.c - the StatsD line parser (see statsd_parse.h).
 *
 * A line is checked as a whole first (UTF-8, no control bytes, length),
 * then cut into '|'-separated sections: "name:value", the type, and the
 * optional sections. Every string kept is copied into out->text with a
 * bounds check, so nothing points into the caller's packet buffer after
 * the call and a hostile line can never write past the struct.
 */
#include "ingest/statsd_parse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct span {
    const char *p;
    size_t n;
} span;

static bool is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF) without
 * ASCII control bytes (NUL included). */
static bool text_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = p[i];
        size_t need;
        uint32_t cp;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += need + 1;
    }
    return true;
}

/* Appends s[0..n) plus a NUL to out->text; NULL when it does not fit. */
static char *put_text(sb_statsd_line *out, const char *s, size_t n)
{
    char *dst;

    if (n + 1 > sizeof out->text - out->used)
        return NULL;
    dst = out->text + out->used;
    memcpy(dst, s, n);
    dst[n] = '\0';
    out->used += n + 1;
    return dst;
}

/*
 * Copies s into out->text mapped to a charset: letters, digits and '_'
 * always kept, '.' and '-' kept when keep_dot_dash, every other byte
 * replaced by '_'; a kept leading character that may not start an
 * identifier (a digit, '.' or '-') gets a '_' in front (a byte mapped to
 * '_' needs none). Non-ASCII bytes refuse (return NULL) when
 * keep_dot_dash. max bounds the result's length.
 */
static const char *sanitise(sb_statsd_line *out, span s, bool keep_dot_dash,
                            size_t max, const char **reason)
{
    unsigned char c0 = (unsigned char)s.p[0];
    bool prefix = is_digit(c0) || (keep_dot_dash && (c0 == '.' || c0 == '-'));
    size_t n = s.n + (prefix ? 1 : 0);
    char *dst;

    if (n > max) {
        *reason = keep_dot_dash ? "name too long" : "tag key too long";
        return NULL;
    }
    if (n + 1 > sizeof out->text - out->used) {
        *reason = "line too long";
        return NULL;
    }
    dst = out->text + out->used;
    if (prefix)
        out->text[out->used++] = '_';
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        bool keep = is_alpha(c) || is_digit(c) || c == '_' ||
                    (keep_dot_dash && (c == '.' || c == '-'));

        if (c >= 0x80 && keep_dot_dash) {
            *reason = "name has a non-ASCII byte";
            return NULL;
        }
        out->text[out->used++] = keep ? (char)c : '_';
    }
    out->text[out->used++] = '\0';
    return dst;
}

/*
 * A finite decimal: optional sign, digits with at most one '.', optional
 * exponent. strtod alone would also take hex, "inf", "nan" and leading
 * blanks, so the shape is checked first.
 */
static int parse_number(span s, double *v, const char **reason)
{
    char tmp[SB_STATSD_NUMBER_MAX + 1];
    size_t i = 0, digits = 0;
    char *end;

    if (s.n == 0 || s.n > SB_STATSD_NUMBER_MAX) {
        *reason = s.n == 0 ? "empty number" : "number too long";
        return SB_EINVAL;
    }
    if (s.p[i] == '+' || s.p[i] == '-')
        i++;
    for (; i < s.n && is_digit((unsigned char)s.p[i]); i++)
        digits++;
    if (i < s.n && s.p[i] == '.')
        for (i++; i < s.n && is_digit((unsigned char)s.p[i]); i++)
            digits++;
    if (digits > 0 && i < s.n && (s.p[i] == 'e' || s.p[i] == 'E')) {
        size_t e0;

        i++;
        if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
            i++;
        e0 = i;
        while (i < s.n && is_digit((unsigned char)s.p[i]))
            i++;
        if (i == e0)
            digits = 0;
    }
    if (digits == 0 || i != s.n) {
        *reason = "not a decimal number";
        return SB_EINVAL;
    }
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    *v = strtod(tmp, &end);
    if (end != tmp + s.n || !isfinite(*v)) {
        *reason = "number out of range";
        return SB_EINVAL;
    }
    return 0;
}

static int parse_type(span s, int *type)
{
    static const struct {
        const char *text;
        int type;
    } types[] = {{"c", SB_STATSD_COUNTER},   {"g", SB_STATSD_GAUGE},
                 {"ms", SB_STATSD_TIMER},    {"h", SB_STATSD_HISTOGRAM},
                 {"d", SB_STATSD_HISTOGRAM}, {"s", SB_STATSD_SET}};

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strlen(types[i].text) == s.n &&
            memcmp(types[i].text, s.p, s.n) == 0) {
            *type = types[i].type;
            return 0;
        }
    }
    return SB_EINVAL;
}

const char *sb__statsd_type_name(int type)
{
    static const char *const names[SB_STATSD_TYPE_COUNT] = {"c", "g", "ms", "h",
                                                            "s"};

    return type >= 0 && type < SB_STATSD_TYPE_COUNT ? names[type] : "?";
}

/* Cuts s at the first c: *head gets what precedes it, s what follows.
 * Returns false (s unchanged) when c is absent. */
static bool cut(span *s, char c, span *head)
{
    const char *p = memchr(s->p, c, s->n);

    if (p == NULL)
        return false;
    head->p = s->p;
    head->n = (size_t)(p - s->p);
    s->n -= head->n + 1;
    s->p = p + 1;
    return true;
}

static int add_tag(sb_statsd_line *out, span item, const char **reason)
{
    span key = item, value = {item.p + item.n, 0};
    const char *k, *v;

    if (cut(&item, ':', &key))
        value = item;
    if (key.n == 0) {
        *reason = "empty tag key";
        return SB_EINVAL;
    }
    if (out->ntags == SB_STATSD_TAGS_MAX) {
        *reason = "too many tags";
        return SB_EINVAL;
    }
    if (value.n > SB_LABEL_VALUE_MAX) {
        *reason = "tag value too long";
        return SB_EINVAL;
    }
    k = sanitise(out, key, false, SB_LABEL_KEY_MAX, reason);
    if (k == NULL)
        return SB_EINVAL;
    if (strcmp(k, "quantile") == 0) {
        *reason = "tag key 'quantile' is reserved";
        return SB_EINVAL;
    }
    v = put_text(out, value.p, value.n);
    if (v == NULL) {
        *reason = "line too long";
        return SB_EINVAL;
    }
    out->tags[out->ntags++] = (sb_label){k, v};
    return 0;
}

/* Insertion sort by key (at most SB_STATSD_TAGS_MAX items); a repeated
 * key refuses the line. */
static int sort_tags(sb_statsd_line *out, const char **reason)
{
    for (size_t i = 1; i < out->ntags; i++) {
        sb_label t = out->tags[i];
        size_t j = i;

        while (j > 0 && strcmp(out->tags[j - 1].key, t.key) > 0) {
            out->tags[j] = out->tags[j - 1];
            j--;
        }
        out->tags[j] = t;
    }
    for (size_t i = 1; i < out->ntags; i++) {
        if (strcmp(out->tags[i - 1].key, out->tags[i].key) == 0) {
            *reason = "repeated tag key";
            return SB_EINVAL;
        }
    }
    return 0;
}

static int parse_tags(sb_statsd_line *out, span s, const char **reason)
{
    span item;

    if (s.n == 0) {
        *reason = "empty tag list";
        return SB_EINVAL;
    }
    while (cut(&s, ',', &item)) {
        if (add_tag(out, item, reason) < 0)
            return SB_EINVAL;
    }
    if (add_tag(out, s, reason) < 0)
        return SB_EINVAL;
    return sort_tags(out, reason);
}

static int parse_rate(sb_statsd_line *out, span s, const char **reason)
{
    if (parse_number(s, &out->rate, reason) < 0)
        return SB_EINVAL;
    if (!(out->rate > 0 && out->rate <= 1)) {
        *reason = "sample rate not in (0, 1]";
        return SB_EINVAL;
    }
    return 0;
}

/* The optional sections after the type, each at most once. */
static int parse_sections(sb_statsd_line *out, span rest, bool more,
                          const char **reason)
{
    bool seen_rate = false, seen_tags = false;
    span sec;

    while (more) {
        more = cut(&rest, '|', &sec);
        if (!more)
            sec = rest;
        if (sec.n > 0 && sec.p[0] == '@' && !seen_rate) {
            seen_rate = true;
            if (parse_rate(out, (span){sec.p + 1, sec.n - 1}, reason) < 0)
                return SB_EINVAL;
        } else if (sec.n > 0 && sec.p[0] == '#' && !seen_tags) {
            seen_tags = true;
            if (parse_tags(out, (span){sec.p + 1, sec.n - 1}, reason) < 0)
                return SB_EINVAL;
        } else if ((sec.n >= 2 && memcmp(sec.p, "c:", 2) == 0) ||
                   (sec.n > 0 && sec.p[0] == 'T')) {
            continue; /* DogStatsD container id and timestamp */
        } else {
            *reason =
                sec.n == 0 ? "empty section" : "unknown or repeated section";
            return SB_EINVAL;
        }
    }
    return 0;
}

static int parse_value(sb_statsd_line *out, span v, const char **reason)
{
    if (out->type == SB_STATSD_SET) {
        if (v.n == 0 || v.n > SB_STATSD_MEMBER_MAX) {
            *reason = v.n == 0 ? "empty set member" : "set member too long";
            return SB_EINVAL;
        }
        out->member = put_text(out, v.p, v.n);
        out->member_len = v.n;
        if (out->member == NULL) {
            *reason = "line too long";
            return SB_EINVAL;
        }
        return 0;
    }
    if (out->type == SB_STATSD_GAUGE && v.n > 0 &&
        (v.p[0] == '+' || v.p[0] == '-'))
        out->delta = true;
    return parse_number(v, &out->value, reason);
}

int sb__statsd_parse(const char *line, size_t len, sb_statsd_line *out,
                     const char **reason)
{
    span rest = {line, len}, name = {line, 0}, value, type;
    bool more;

    *reason = NULL;
    if (len > 0 && line[len - 1] == '\r')
        rest.n--;
    if (rest.n > SB_STATSD_LINE_MAX) {
        *reason = "line too long";
        return SB_ETOOLARGE;
    }
    if (rest.n == 0 || !text_ok((const unsigned char *)rest.p, rest.n)) {
        *reason =
            rest.n == 0 ? "empty line" : "invalid UTF-8 or a control byte";
        return SB_EINVAL;
    }
    out->used = 0;
    out->ntags = 0;
    out->delta = false;
    out->rate = 1;
    out->value = 0;
    out->member = NULL;
    out->member_len = 0;

    if (!cut(&rest, ':', &name)) {
        *reason = "no ':' after the name";
        return SB_EINVAL;
    }
    if (name.n == 0) {
        *reason = "empty name";
        return SB_EINVAL;
    }
    if (!cut(&rest, '|', &value)) {
        *reason = "no '|' before the type";
        return SB_EINVAL;
    }
    more = cut(&rest, '|', &type);
    if (!more)
        type = rest;
    if (parse_type(type, &out->type) < 0) {
        *reason = "unknown type";
        return SB_EINVAL;
    }
    out->name = sanitise(out, name, true, SB_STATSD_NAME_MAX, reason);
    if (out->name == NULL || parse_value(out, value, reason) < 0 ||
        parse_sections(out, rest, more, reason) < 0)
        return SB_EINVAL;
    return 0;
}
