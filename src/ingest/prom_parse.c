/*
 * prom_parse.c - the Prometheus text format 0.0.4, line by line.
 *
 * Each call reads lines until one yields an item. A line is parsed with
 * a cursor (struct cur) over [start, end); every string the item hands
 * out (name, label keys and values, help text) is copied, unescaped and
 * NUL-terminated, into the scratch buffer, which holds max_line + 1
 * bytes: the unescaped strings of one line plus their NULs never exceed
 * the line's length plus one, because every string copied is followed in
 * the line by at least one byte that is not copied (a separator or a
 * quote), except the last one.
 *
 * Families live in an open-addressing hash table (linear probing, keyed
 * SipHash since names come from the target, at most half full), each
 * with an owned copy of its name; their number is capped by max_samples.
 */
#include "ingest/prom_parse.h"

#include "common/hash.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct cur {
    const char *p, *end;
    char *out; /* next free byte of the scratch buffer */
} cur;

struct sb_prom_family {
    char *name; /* NULL: empty slot */
    int type;
    bool help, typed, samples;
};

static const char *const type_words[] = {"untyped", "counter", "gauge",
                                         "histogram", "summary"};

static int fail(sb_prom_parser *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(sb_prom_parser *p, int rc, const char *fmt, ...)
{
    char reason[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(p->err, sizeof p->err, "line %zu: %s", p->line, reason);
    p->failed = rc; /* every later call repeats the error */
    return rc;
}

int sb__prom_parser_init(sb_prom_parser *p, const char *data, size_t len,
                         const sb_prom_limits *lim)
{
    memset(p, 0, sizeof *p);
    p->data = data;
    p->len = len;
    if (lim != NULL)
        p->lim = *lim;
    if (p->lim.max_line == 0)
        p->lim.max_line = SB_PROM_LINE_MAX;
    if (p->lim.max_labels == 0 || p->lim.max_labels > SB_LABELS_MAX)
        p->lim.max_labels = SB_LABELS_MAX;
    if (p->lim.max_samples == 0)
        p->lim.max_samples = SB_PROM_SAMPLES_MAX;
    sb__hash_random_key(p->hash_key);
    p->scratch = malloc(p->lim.max_line + 1);
    return p->scratch != NULL ? 0 : SB_ENOMEM;
}

void sb__prom_parser_free(sb_prom_parser *p)
{
    for (size_t i = 0; i < p->fams_cap; i++)
        free(p->fams[i].name);
    free(p->fams);
    free(p->scratch);
    p->fams = NULL;
    p->fams_cap = p->nfams = 0;
    p->scratch = NULL;
}

/* ------------------------------------------------------------ lexing */

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static void skip_blanks(cur *c)
{
    while (c->p < c->end && blank(*c->p))
        c->p++;
}

static bool name_char(char ch, bool first, bool colon)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_')
        return true;
    if (ch == ':')
        return colon;
    return !first && ch >= '0' && ch <= '9';
}

/* Copies a name (metric names allow ':') to scratch; NULL when the
 * cursor is not at one or it is longer than max. */
static const char *read_name(cur *c, bool colon, size_t max)
{
    const char *s = c->p, *r = c->out;

    while (c->p < c->end && name_char(*c->p, c->p == s, colon))
        c->p++;
    if (c->p == s || (size_t)(c->p - s) > max)
        return NULL;
    memcpy(c->out, s, (size_t)(c->p - s));
    c->out += c->p - s;
    *c->out++ = '\0';
    return r;
}

/* The token up to the next blank or the end. */
static size_t read_token(cur *c, const char **tok)
{
    *tok = c->p;
    while (c->p < c->end && !blank(*c->p))
        c->p++;
    return (size_t)(c->p - *tok);
}

static bool word_is(const char *t, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(t, w, n) == 0;
}

/* ------------------------------------------------------------ numbers */

/* Go's strconv.ParseFloat: decimal or hex (with a p exponent), the
 * spellings inf, infinity and nan in any case with an optional sign
 * (nan without one); '_' digit separators are not accepted. */
static bool parse_value(const char *t, size_t n, double *out)
{
    char buf[64]; /* 63 characters at most: prom_text.c relies on it */
    const char *s = t;
    size_t k = n;
    char *end = NULL;
    bool hex;

    if (n == 0 || n >= sizeof buf)
        return false;
    if (*s == '+' || *s == '-') {
        s++;
        k--;
    }
    if ((k == 3 && strncasecmp(s, "inf", 3) == 0) ||
        (k == 8 && strncasecmp(s, "infinity", 8) == 0)) {
        *out = *t == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (k == 3 && strncasecmp(s, "nan", 3) == 0 && s == t) {
        *out = NAN;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strchr("0123456789abcdefABCDEFxXpP.+-", t[i]))
            return false;
    }
    hex = k > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (hex && !memchr(s, 'p', k) && !memchr(s, 'P', k))
        return false;
    if (!hex && memchr(s, 'x', k) != NULL)
        return false;
    memcpy(buf, t, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    if (end != buf + n)
        return false;
    return !(errno == ERANGE && isinf(*out));
}

static bool parse_time(const char *t, size_t n, int64_t *out)
{
    char buf[32];
    char *end = NULL;
    long long v;

    if (n == 0 || n >= sizeof buf)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((t[i] >= '0' && t[i] <= '9') || (i == 0 && strchr("+-", t[i]))))
            return false;
    }
    memcpy(buf, t, n);
    buf[n] = '\0';
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno != 0 || end != buf + n)
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------ families */

static size_t fam_slot(const sb_prom_parser *p, const char *name, size_t n)
{
    size_t mask = p->fams_cap - 1;
    size_t i = (size_t)sb__siphash24(p->hash_key, name, n) & mask;

    while (p->fams[i].name != NULL && (strncmp(p->fams[i].name, name, n) != 0 ||
                                       p->fams[i].name[n] != '\0'))
        i = (i + 1) & mask;
    return i;
}

/* The family named name[0..n), or NULL. */
static struct sb_prom_family *fam_find(const sb_prom_parser *p,
                                       const char *name, size_t n)
{
    struct sb_prom_family *f;

    if (p->fams_cap == 0)
        return NULL;
    f = &p->fams[fam_slot(p, name, n)];
    return f->name != NULL ? f : NULL;
}

static int fam_grow(sb_prom_parser *p)
{
    size_t cap = p->fams_cap ? 2 * p->fams_cap : 64;
    struct sb_prom_family *old = p->fams;
    size_t old_cap = p->fams_cap;

    p->fams = calloc(cap, sizeof *p->fams);
    if (p->fams == NULL) {
        p->fams = old;
        return SB_ENOMEM;
    }
    p->fams_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].name != NULL)
            p->fams[fam_slot(p, old[i].name, strlen(old[i].name))] = old[i];
    }
    free(old);
    return 0;
}

/* The family named name, created untyped when new. NULL with p failed. */
static struct sb_prom_family *fam_get(sb_prom_parser *p, const char *name)
{
    size_t n = strlen(name);
    struct sb_prom_family *f = fam_find(p, name, n);

    if (f != NULL)
        return f;
    if (p->nfams == p->lim.max_samples) {
        fail(p, SB_ETOOLARGE, "more than %zu metric families",
             p->lim.max_samples);
        return NULL;
    }
    if ((p->nfams + 1) * 2 > p->fams_cap && fam_grow(p) < 0) {
        fail(p, SB_ENOMEM, "out of memory");
        return NULL;
    }
    f = &p->fams[fam_slot(p, name, n)];
    f->name = strdup(name);
    if (f->name == NULL) {
        fail(p, SB_ENOMEM, "out of memory");
        return NULL;
    }
    f->type = SB_PROM_UNTYPED;
    p->nfams++;
    return f;
}

/* The existing family X of type `type` when name is X + one of the
 * suffixes, else NULL. */
static struct sb_prom_family *fam_base(const sb_prom_parser *p,
                                       const char *name, int type,
                                       const char *const *suffixes)
{
    size_t n = strlen(name);

    for (; *suffixes != NULL; suffixes++) {
        size_t k = strlen(*suffixes);
        struct sb_prom_family *f;

        if (n <= k || strcmp(name + n - k, *suffixes) != 0)
            continue;
        f = fam_find(p, name, n - k);
        if (f != NULL && f->type == type)
            return f;
    }
    return NULL;
}

/* ------------------------------------------------------------ comments */

/* Copies the rest of the line, unescaping \\ and \n, to scratch. */
static int read_help(sb_prom_parser *p, cur *c, const char **out)
{
    *out = c->out;
    for (; c->p < c->end; c->p++) {
        char ch = *c->p;

        if (ch == '\\') {
            if (c->p + 1 == c->end || (c->p[1] != '\\' && c->p[1] != 'n'))
                return fail(p, SB_EINVAL, "invalid escape in HELP text");
            ch = *++c->p == 'n' ? '\n' : '\\';
        }
        *c->out++ = ch;
    }
    *c->out++ = '\0';
    return 0;
}

/* # HELP and # TYPE lines; 1 with an item, 0 for a plain comment. */
static int parse_comment(sb_prom_parser *p, cur *c, sb_prom_item *it)
{
    struct sb_prom_family *f;
    const char *w, *t;
    size_t wn, tn;
    bool help;

    c->p++; /* '#' */
    skip_blanks(c);
    wn = read_token(c, &w);
    help = word_is(w, wn, "HELP");
    if ((!help && !word_is(w, wn, "TYPE")) || c->p == c->end)
        return 0;
    skip_blanks(c);
    it->name = read_name(c, true, SB_NAME_MAX);
    if (it->name == NULL || (c->p < c->end && !blank(*c->p)))
        return fail(p, SB_EINVAL, "invalid metric name in %s line",
                    help ? "HELP" : "TYPE");
    if ((f = fam_get(p, it->name)) == NULL)
        return p->failed;
    if (help) {
        if (f->help)
            return fail(p, SB_EINVAL, "second HELP line for %s", it->name);
        f->help = true;
        skip_blanks(c); /* the text starts at its first non-blank */
        it->kind = SB_PROM_HELP;
        return read_help(p, c, &it->help) < 0 ? SB_EINVAL : 1;
    }
    if (f->typed || f->samples)
        return fail(p, SB_EINVAL, "%s TYPE line for %s",
                    f->typed ? "second" : "samples before the", it->name);
    skip_blanks(c);
    tn = read_token(c, &t);
    skip_blanks(c);
    for (int i = 0; i < 5 && c->p == c->end; i++) {
        if (word_is(t, tn, type_words[i])) {
            f->typed = true;
            f->type = it->type = i;
            it->kind = SB_PROM_TYPE;
            return 1;
        }
    }
    return fail(p, SB_EINVAL, "invalid TYPE line for %s", it->name);
}

/* ------------------------------------------------------------ samples */

/* A quoted label value, unescaping \\, \" and \n. */
static const char *read_label_value(cur *c)
{
    const char *r = c->out;

    if (c->p == c->end || *c->p != '"')
        return NULL;
    c->p++;
    for (; c->p < c->end && *c->p != '"'; c->p++) {
        char ch = *c->p;

        if (ch == '\\') {
            if (c->p + 1 == c->end || !strchr("\\\"n", c->p[1]))
                return NULL;
            ch = *++c->p == 'n' ? '\n' : c->p[0];
        }
        *c->out++ = ch;
    }
    if (c->p == c->end || c->out - r > SB_LABEL_VALUE_MAX)
        return NULL;
    c->p++; /* closing quote */
    *c->out++ = '\0';
    return r;
}

static int add_label(sb_prom_parser *p, cur *c, sb_prom_item *it)
{
    const char *key = read_name(c, false, SB_LABEL_KEY_MAX), *val;

    if (key == NULL)
        return fail(p, SB_EINVAL, "invalid label name");
    if (strcmp(key, "__name__") == 0)
        return fail(p, SB_EINVAL, "label name __name__ is reserved");
    for (size_t i = 0; i < it->nlabels; i++) {
        if (strcmp(it->labels[i].key, key) == 0)
            return fail(p, SB_EINVAL, "label %s given twice", key);
    }
    skip_blanks(c);
    if (c->p == c->end || *c->p != '=')
        return fail(p, SB_EINVAL, "expected '=' after label %s", key);
    c->p++;
    skip_blanks(c);
    val = read_label_value(c);
    if (val == NULL)
        return fail(p, SB_EINVAL, "invalid value of label %s", key);
    if (it->nlabels == p->lim.max_labels)
        return fail(p, SB_ETOOLARGE, "more than %zu labels", p->lim.max_labels);
    it->labels[it->nlabels++] = (sb_label){key, val};
    return 0;
}

/* {key="value",...} with an optional trailing comma. */
static int parse_labels(sb_prom_parser *p, cur *c, sb_prom_item *it)
{
    int rc;

    c->p++; /* '{' */
    for (;;) {
        skip_blanks(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        rc = add_label(p, c, it);
        if (rc < 0)
            return rc;
        skip_blanks(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p == c->end || *c->p != '}')
            return fail(p, SB_EINVAL, "expected ',' or '}' in labels");
    }
}

static const char *label_of(const sb_prom_item *it, const char *key)
{
    for (size_t i = 0; i < it->nlabels; i++) {
        if (strcmp(it->labels[i].key, key) == 0)
            return it->labels[i].value;
    }
    return NULL;
}

/* Places the sample in its family (see prom_parse.h) and checks the le
 * or quantile label a histogram bucket or a summary quantile needs. */
static int classify(sb_prom_parser *p, sb_prom_item *it)
{
    static const char *const summ[] = {"_count", "_sum", NULL};
    static const char *const hist[] = {"_bucket", "_count", "_sum", NULL};
    static const char *const bucket[] = {"_bucket", NULL};
    size_t n = strlen(it->name);
    struct sb_prom_family *f = fam_find(p, it->name, n);
    const char *need = NULL, *v;
    double d;

    if (f == NULL)
        f = fam_base(p, it->name, SB_PROM_SUMMARY, summ);
    if (f == NULL)
        f = fam_base(p, it->name, SB_PROM_HISTOGRAM, hist);
    if (f == NULL && (f = fam_get(p, it->name)) == NULL)
        return p->failed;
    f->samples = true;
    it->type = f->type;
    if (f->type == SB_PROM_HISTOGRAM &&
        fam_base(p, it->name, SB_PROM_HISTOGRAM, bucket) == f)
        need = "le";
    if (f->type == SB_PROM_SUMMARY && strcmp(it->name, f->name) == 0)
        need = "quantile";
    if (need != NULL) {
        v = label_of(it, need);
        if (v == NULL || !parse_value(v, strlen(v), &d))
            return fail(p, SB_EINVAL, "%s needs a numeric %s label", it->name,
                        need);
    }
    /* Like Prometheus' parser, an le (quantile) label on any line of a
     * histogram (summary) family must be a number too. */
    need = f->type == SB_PROM_HISTOGRAM ? "le"
           : f->type == SB_PROM_SUMMARY ? "quantile"
                                        : NULL;
    v = need != NULL ? label_of(it, need) : NULL;
    if (v != NULL && !parse_value(v, strlen(v), &d))
        return fail(p, SB_EINVAL, "%s has a non-numeric %s label", it->name,
                    need);
    return 0;
}

static int parse_sample(sb_prom_parser *p, cur *c, sb_prom_item *it)
{
    const char *t;
    size_t n;
    int rc;

    it->name = read_name(c, true, SB_NAME_MAX);
    if (it->name == NULL)
        return fail(p, SB_EINVAL, "invalid metric name");
    skip_blanks(c);
    if (c->p < c->end && *c->p == '{' && (rc = parse_labels(p, c, it)) < 0)
        return rc;
    skip_blanks(c);
    n = read_token(c, &t);
    if (!parse_value(t, n, &it->value))
        return fail(p, SB_EINVAL, "invalid value for %s", it->name);
    skip_blanks(c);
    if (c->p < c->end) {
        n = read_token(c, &t);
        if (!parse_time(t, n, &it->time_ms))
            return fail(p, SB_EINVAL, "invalid timestamp for %s", it->name);
        it->has_time = true;
        skip_blanks(c);
        if (c->p < c->end)
            return fail(p, SB_EINVAL, "unexpected text after the timestamp");
    }
    if (++p->nsamples > p->lim.max_samples)
        return fail(p, SB_ETOOLARGE, "more than %zu samples",
                    p->lim.max_samples);
    it->kind = SB_PROM_SAMPLE;
    rc = classify(p, it);
    return rc < 0 ? rc : 1;
}

/* ------------------------------------------------------------ lines */

/* One line [s, e): 1 with an item, 0 when it yields none, <0 error. */
static int parse_line(sb_prom_parser *p, const char *s, const char *e,
                      sb_prom_item *it)
{
    cur c = {s, e, p->scratch};

    if (e > s && e[-1] == '\r')
        c.end = --e;
    if ((size_t)(e - s) > p->lim.max_line)
        return fail(p, SB_ETOOLARGE, "longer than %zu bytes", p->lim.max_line);
    if (memchr(s, '\0', (size_t)(e - s)) != NULL)
        return fail(p, SB_EINVAL, "NUL byte");
    memset(it, 0, sizeof *it);
    skip_blanks(&c);
    if (c.p == c.end)
        return 0;
    if (*c.p == '#')
        return parse_comment(p, &c, it);
    return parse_sample(p, &c, it);
}

int sb__prom_next(sb_prom_parser *p, sb_prom_item *out)
{
    if (p->failed != 0)
        return p->failed;
    while (p->pos < p->len) {
        const char *s = p->data + p->pos;
        const char *nl = memchr(s, '\n', p->len - p->pos);
        const char *e = nl != NULL ? nl : p->data + p->len;
        int rc;

        p->pos = (size_t)(e - p->data) + (nl != NULL);
        p->line++;
        rc = parse_line(p, s, e, out);
        if (rc != 0)
            return rc;
    }
    return 0;
}
