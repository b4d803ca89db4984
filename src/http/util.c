/*
 * util.c - pure parsers of the HTTP layer: listen addresses,
 * Accept-Encoding, CORS origins and requested headers, Content-Encoding.
 *
 * None of these touch MHD or allocate; each reads a NUL-terminated
 * string that may be hostile (headers come from clients) and must
 * terminate on any input: every loop advances its cursor by at least one
 * byte per iteration.
 */
#include "http/internal.h"

#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------- listen */

/* Port: 1 to 5 ASCII digits, at most 65535; nothing else. */
static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (i >= 5 || s[i] < '0' || s[i] > '9')
            return SB_EADDR;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (i == 0 || v > 65535)
        return SB_EADDR;
    *port = (uint16_t)v;
    return 0;
}

/* Host bytes: printable ASCII, no space, no brackets, no slash. */
static bool host_chars_ok(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '[' || ch == ']' || ch == '/')
            return false;
    }
    return true;
}

int sb__listen_parse(const char *s, char *host, size_t hostlen, uint16_t *port,
                     bool *bracketed, const char **reason)
{
    const char *hs, *he, *ps;

    *reason = NULL;
    if (s == NULL || s[0] == '\0') {
        *reason = "empty address";
        return SB_EADDR;
    }
    if (s[0] == '[') {
        he = strchr(s, ']');
        if (he == NULL) {
            *reason = "missing ']' after an IPv6 address";
            return SB_EADDR;
        }
        if (he[1] != ':') {
            *reason = "expected :PORT after ']'";
            return SB_EADDR;
        }
        hs = s + 1;
        ps = he + 2;
        *bracketed = true;
    } else {
        he = strrchr(s, ':');
        if (he == NULL) {
            *reason = "missing :PORT";
            return SB_EADDR;
        }
        if (memchr(s, ':', (size_t)(he - s)) != NULL) {
            *reason = "an IPv6 address must be bracketed: [ADDR]:PORT";
            return SB_EADDR;
        }
        hs = s;
        ps = he + 1;
        *bracketed = false;
    }

    size_t hl = (size_t)(he - hs);
    if (hl == 0) {
        *reason = "missing host (use 0.0.0.0 or [::] for every interface)";
        return SB_EADDR;
    }
    if (hl > SB_LISTEN_HOST_MAX || hl >= hostlen) {
        *reason = "host too long";
        return SB_EADDR;
    }
    if (!host_chars_ok(hs, hl)) {
        *reason = "invalid character in host";
        return SB_EADDR;
    }
    if (*bracketed && memchr(hs, ':', hl) == NULL) {
        *reason = "brackets must hold an IPv6 address";
        return SB_EADDR;
    }
    if (parse_port(ps, port) < 0) {
        *reason = "port must be a number from 0 to 65535";
        return SB_EADDR;
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    return 0;
}

/* -------------------------------------------------- header grammar */

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* RFC 9110 tchar. */
static bool is_tchar(char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9'))
        return true;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static const char *skip_ows(const char *p)
{
    while (is_ows(*p))
        p++;
    return p;
}

static const char *skip_token(const char *p)
{
    while (is_tchar(*p))
        p++;
    return p;
}

static bool token_is(const char *t, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(t, word, n) == 0;
}

/*
 * A qvalue: "0" ["." 0-3 digits] or "1" ["." 0-3 zeros]. Returns the
 * weight in thousandths, or -1 when malformed.
 */
static int parse_qvalue(const char *v, size_t n)
{
    int q;
    size_t i;

    if (n == 0 || (v[0] != '0' && v[0] != '1'))
        return -1;
    q = (v[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (v[1] != '.' || n > 5)
        return -1;
    int scale = 100;
    for (i = 2; i < n; i++, scale /= 10) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        q += (v[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* Skips a quoted-string starting at the opening quote; returns NULL when
 * it is unterminated. */
static const char *skip_quoted(const char *p)
{
    for (p++; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/*
 * Parses the parameters of one list element, starting at *pp (which
 * points at ';' or the element's end). Stores the q weight (1000 when
 * absent) and returns false when the syntax is broken; *pp ends at the
 * element's terminating ',' or NUL either way.
 */
static bool parse_element_params(const char **pp, int *q)
{
    const char *p = skip_ows(*pp);
    bool ok = true;

    *q = 1000;
    while (*p == ';') {
        const char *name = skip_ows(p + 1);
        const char *name_end = skip_token(name);
        const char *val, *val_end;

        p = skip_ows(name_end);
        if (name == name_end || *p != '=') {
            ok = false;
            break;
        }
        val = skip_ows(p + 1);
        val_end = *val == '"' ? skip_quoted(val) : skip_token(val);
        if (val_end == NULL || val_end == val) {
            ok = false;
            break;
        }
        if (token_is(name, (size_t)(name_end - name), "q")) {
            *q = parse_qvalue(val, (size_t)(val_end - val));
            ok = ok && *q >= 0;
        }
        p = skip_ows(val_end);
    }
    if (*p != ',' && *p != '\0')
        ok = false;
    while (*p != ',' && *p != '\0')
        p++;
    *pp = p;
    return ok;
}

bool sb__accepts_gzip(const char *header)
{
    int gzip_q = -1, star_q = -1; /* -1: not listed */
    const char *p = header;

    if (p == NULL)
        return false;
    while (*p != '\0') {
        const char *tok, *tok_end;
        int q;

        while (is_ows(*p) || *p == ',')
            p++;
        if (*p == '\0')
            break;
        tok = p;
        tok_end = skip_token(p);
        p = tok_end;
        if (!parse_element_params(&p, &q) || q < 0)
            q = 0; /* a broken element never counts as acceptance */

        size_t n = (size_t)(tok_end - tok);
        if (token_is(tok, n, "gzip") || token_is(tok, n, "x-gzip"))
            gzip_q = q > gzip_q ? q : gzip_q;
        else if (token_is(tok, n, "*"))
            star_q = q > star_q ? q : star_q;
    }
    if (gzip_q >= 0)
        return gzip_q > 0;
    return star_q > 0;
}

/* ------------------------------------------------ Accept (formats) */

/* The media types GET /metrics offers, in negotiation order. */
static const char *const offer_types[3][2] = {
    {"application", "json"},
    {"text", "plain"},
    {"application", "openmetrics-text"},
};

/* How specifically the range type/sub matches offer o: 3 exact, 2
 * type/x, 1 x/x, 0 not at all. */
static int range_match(const char *t, size_t tn, const char *st, size_t sn,
                       int o)
{
    bool tstar = token_is(t, tn, "*"), sstar = token_is(st, sn, "*");

    if (tstar && sstar)
        return 1;
    if (!token_is(t, tn, offer_types[o][0]))
        return 0;
    if (sstar)
        return 2;
    return token_is(st, sn, offer_types[o][1]) ? 3 : 0;
}

int sb__negotiate_format(const char *accept)
{
    int best_spec[3] = {0, 0, 0}, best_q[3] = {0, 0, 0};
    const char *p = accept;

    if (p == NULL)
        return SB_FORMAT_JSON;
    while (*p != '\0') {
        const char *t, *t_end, *st, *st_end;
        bool ok;
        int q;

        while (is_ows(*p) || *p == ',')
            p++;
        if (*p == '\0')
            break;
        t = p;
        t_end = skip_token(t);
        st = *t_end == '/' ? t_end + 1 : t_end;
        st_end = skip_token(st);
        p = st_end;
        ok = parse_element_params(&p, &q) && *t_end == '/' && t_end > t &&
             st_end > st;
        if (!ok)
            continue; /* a broken element is ignored */
        for (int o = 0; o < 3; o++) {
            int spec = range_match(t, (size_t)(t_end - t), st,
                                   (size_t)(st_end - st), o);

            if (spec > best_spec[o] ||
                (spec == best_spec[o] && spec > 0 && q > best_q[o])) {
                best_spec[o] = spec;
                best_q[o] = q;
            }
        }
    }
    if (best_q[1] > best_q[0] || best_q[2] > best_q[0])
        return SB_FORMAT_PROM;
    return SB_FORMAT_JSON;
}

/* ------------------------------------------------------------ CORS */

const char *sb__cors_allow_origin(const char *const *origins, size_t n,
                                  const char *origin)
{
    if (origin == NULL || origin[0] == '\0')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (origins[i] == NULL)
            continue;
        if (strcmp(origins[i], "*") == 0)
            return "*";
        if (strcmp(origins[i], origin) == 0)
            return origin;
    }
    return NULL;
}

/*
 * Walks a comma-separated list of tokens, calling ok() on each non-empty
 * element; false when any element is not a bare token or ok() refuses.
 */
static bool each_list_token(const char *v, bool (*ok)(const char *, size_t))
{
    const char *p = v;

    if (p == NULL)
        return true;
    while (*p != '\0') {
        const char *tok, *tok_end;

        while (is_ows(*p) || *p == ',')
            p++;
        if (*p == '\0')
            break;
        tok = p;
        tok_end = skip_token(p);
        p = skip_ows(tok_end);
        if (tok == tok_end || (*p != ',' && *p != '\0'))
            return false;
        if (!ok(tok, (size_t)(tok_end - tok)))
            return false;
    }
    return true;
}

static bool cors_header_allowed(const char *t, size_t n)
{
    return token_is(t, n, "content-type") || token_is(t, n, "accept") ||
           token_is(t, n, "accept-encoding");
}

bool sb__cors_headers_ok(const char *requested)
{
    return each_list_token(requested, cors_header_allowed);
}

static bool is_identity(const char *t, size_t n)
{
    return token_is(t, n, "identity");
}

bool sb__identity_encoding(const char *value)
{
    return each_list_token(value, is_identity);
}
