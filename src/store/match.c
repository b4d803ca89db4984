/*
 * match.c - label matchers (see match.h for the rules and the regex
 * wrapping).
 *
 * Testing a series walks its canonical key once per matcher: the name is
 * the first NUL-terminated part, then keys and values alternate, keys in
 * ascending order. Label keys are short and series carry few labels, so a
 * linear walk beats any index and allocates nothing.
 */
#include "store/match.h"

#include "common/quote.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define QUOTE_MAX 60
/* "^(" + every byte escaped in the worst case + ")$" + NUL */
#define WRAPPED_MAX (2 * SB_MATCH_VALUE_MAX + 8)

static const char *const op_text[] = {"=", "!=", "=~", "!~"};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool key_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

int sb__matcher_parse(char *text, sb_matcher *out, char *err, size_t errlen)
{
    char q[SB_QUOTE_BUF(QUOTE_MAX)];
    size_t k = 0, oplen;
    int op;

    while (key_char(text[k], k == 0))
        k++;
    if (text[k] == '=' && text[k + 1] == '~')
        op = SB_MATCH_RE, oplen = 2;
    else if (text[k] == '!' && text[k + 1] == '=')
        op = SB_MATCH_NE, oplen = 2;
    else if (text[k] == '!' && text[k + 1] == '~')
        op = SB_MATCH_NRE, oplen = 2;
    else if (text[k] == '=')
        op = SB_MATCH_EQ, oplen = 1;
    else
        op = -1, oplen = 0;

    sb__quote_bytes(text, strlen(text), QUOTE_MAX, '\'', q, sizeof q);
    if (k == 0 || op < 0) {
        set_err(err, errlen,
                "match '%s': expected KEY=VALUE, KEY!=VALUE, KEY=~REGEX or "
                "KEY!~REGEX with KEY a label name or __name__",
                q);
        return SB_EINVAL;
    }
    if (k > SB_LABEL_KEY_MAX) {
        set_err(err, errlen, "match '%s': key longer than %d bytes", q,
                SB_LABEL_KEY_MAX);
        return SB_EINVAL;
    }
    if (strlen(text + k + oplen) > SB_MATCH_VALUE_MAX) {
        set_err(err, errlen, "match '%s': value longer than %d bytes", q,
                SB_MATCH_VALUE_MAX);
        return SB_EINVAL;
    }
    out->op = op;
    out->value = text + k + oplen;
    text[k] = '\0';
    out->key = text;
    return SB_OK;
}

/* ------------------------------------------------------------- regex */

/* Pattern lexing state: sizes of the open groups, innermost last. */
typedef struct lexer {
    const char *p;
    size_t i;
    char *out;
    size_t o;
    size_t size[SB_MATCH_VALUE_MAX + 1];   /* [0] is the whole pattern */
    unsigned nest[SB_MATCH_VALUE_MAX + 1]; /* deepest repetition inside */
    size_t depth;
    size_t last;        /* size of the item a repetition would apply to */
    unsigned last_nest; /* and how deeply repeated it already is */
    const char *why;
} lexer;

static void put(lexer *lx, char c)
{
    lx->out[lx->o++] = c;
}

/* Adds n atoms to the current group; false when over the budget. */
static bool grow_size(lexer *lx, size_t n)
{
    size_t *cur = &lx->size[lx->depth];

    if (n > SB_MATCH_EXPANSION_MAX || *cur + n > SB_MATCH_EXPANSION_MAX) {
        lx->why = "the pattern's repetitions expand it beyond 512 atoms";
        return false;
    }
    *cur += n;
    return true;
}

/* Copies a bracket expression starting at '[' (ends after its ']'). */
static void lex_bracket(lexer *lx)
{
    const char *p = lx->p;

    put(lx, p[lx->i++]);
    if (p[lx->i] == '^')
        put(lx, p[lx->i++]);
    if (p[lx->i] == ']')
        put(lx, p[lx->i++]);
    while (p[lx->i] != '\0' && p[lx->i] != ']') {
        char c = p[lx->i];

        if (c == '[' && (p[lx->i + 1] == ':' || p[lx->i + 1] == '.' ||
                         p[lx->i + 1] == '=')) {
            char close = p[lx->i + 1];

            put(lx, p[lx->i++]);
            put(lx, p[lx->i++]);
            while (p[lx->i] != '\0' &&
                   !(p[lx->i] == close && p[lx->i + 1] == ']'))
                put(lx, p[lx->i++]);
            if (p[lx->i] != '\0') {
                put(lx, p[lx->i++]);
                put(lx, p[lx->i++]);
            }
            continue;
        }
        put(lx, p[lx->i++]);
    }
    if (p[lx->i] == ']')
        put(lx, p[lx->i++]);
}

/* Reads "{m}", "{m,}", "{m,n}" or "{,n}" at p; returns its length (0 when it is
 * not an interval) and the most copies regcomp makes of the item. */
static size_t read_interval(const char *p, size_t *copies)
{
    size_t i = 1, m = 0, n = 0;
    bool has_n = false, comma = false;

    /* glibc also reads "{,N}" as "{0,N}". */
    if ((p[i] < '0' || p[i] > '9') && p[i] != ',')
        return 0;
    while (p[i] >= '0' && p[i] <= '9' && m <= 100000)
        m = m * 10 + (size_t)(p[i++] - '0');
    if (p[i] == ',') {
        comma = true;
        i++;
        while (p[i] >= '0' && p[i] <= '9' && n <= 100000) {
            n = n * 10 + (size_t)(p[i++] - '0');
            has_n = true;
        }
    }
    if (p[i] != '}')
        return 0;
    if (!comma)
        *copies = m;
    else if (has_n)
        *copies = n > m ? n : m;
    else
        *copies = m + 1;
    if (m > SB_MATCH_REPEAT_MAX || (has_n && n > SB_MATCH_REPEAT_MAX))
        *copies = SIZE_MAX;
    return i + 1;
}

/* A repetition of the last item, copied `copies` times in all. The
 * repeated item is then that much larger, which matters when it is
 * repeated again ("x++" is four copies of x, "x+++" eight). */
static bool repeat_last(lexer *lx, size_t copies)
{
    if (copies == SIZE_MAX) {
        lx->why = "a repetition count above 255";
        return false;
    }
    if (++lx->last_nest > SB_MATCH_NEST_MAX) {
        lx->why = "repetitions nested more than 3 deep";
        return false;
    }
    if (lx->last_nest > lx->nest[lx->depth])
        lx->nest[lx->depth] = lx->last_nest;
    if (copies <= 1 || lx->last == 0)
        return true;
    if (lx->last > SB_MATCH_EXPANSION_MAX / copies)
        return grow_size(lx, SIZE_MAX);
    if (!grow_size(lx, lx->last * (copies - 1)))
        return false;
    lx->last *= copies;
    return true;
}

static bool lex_group_end(lexer *lx)
{
    size_t inner;

    if (lx->depth == 0) { /* a literal ')' to glibc: keep it literal */
        put(lx, '\\');
        put(lx, ')');
        lx->i++;
        lx->last = 1;
        lx->last_nest = 0;
        return grow_size(lx, 1);
    }
    put(lx, lx->p[lx->i++]);
    inner = lx->size[lx->depth];
    lx->last_nest = lx->nest[lx->depth--];
    lx->last = inner;
    return grow_size(lx, inner);
}

/* One ordinary byte. */
static bool lex_atom(lexer *lx)
{
    put(lx, lx->p[lx->i++]);
    lx->last = 1;
    lx->last_nest = 0;
    return grow_size(lx, 1);
}

static bool lex_step(lexer *lx)
{
    const char *p = lx->p;
    char c = p[lx->i];
    size_t len, copies = 1;

    switch (c) {
    case '\\':
        if (p[lx->i + 1] >= '1' && p[lx->i + 1] <= '9') {
            lx->why = "back-references are not supported";
            return false;
        }
        put(lx, p[lx->i++]);
        if (p[lx->i] != '\0')
            put(lx, p[lx->i++]);
        lx->last = 1;
        lx->last_nest = 0;
        return grow_size(lx, 1);
    case '[':
        lex_bracket(lx);
        lx->last = 1;
        lx->last_nest = 0;
        return grow_size(lx, 1);
    case '(':
        put(lx, p[lx->i++]);
        lx->size[++lx->depth] = 0;
        lx->nest[lx->depth] = 0;
        lx->last = 0;
        return true;
    case ')':
        return lex_group_end(lx);
    case '|':
        put(lx, p[lx->i++]);
        lx->last = 0;
        lx->last_nest = 0;
        return true;
    case '+':
        copies = 2;
        /* fall through */
    case '*':
    case '?':
        put(lx, p[lx->i++]);
        return repeat_last(lx, copies);
    case '{':
        len = read_interval(p + lx->i, &copies);
        if (len == 0) /* not an interval: a plain byte, regcomp decides */
            return lex_atom(lx);
        memcpy(lx->out + lx->o, p + lx->i, len);
        lx->o += len;
        lx->i += len;
        return repeat_last(lx, copies);
    default:
        return lex_atom(lx);
    }
}

/* Writes ^(pattern)$ to out with stray ')' escaped; NULL or a reason. */
static const char *wrap_pattern(const char *pattern, char *out)
{
    static lexer zero;
    lexer lx = zero;

    lx.p = pattern;
    lx.out = out;
    put(&lx, '^');
    put(&lx, '(');
    while (pattern[lx.i] != '\0') {
        if (!lex_step(&lx))
            return lx.why;
    }
    put(&lx, ')');
    put(&lx, '$');
    put(&lx, '\0');
    return NULL;
}

/* Compiles one regex matcher into cm->re. */
static int compile_regex(sb_cmatcher *cm, char *err, size_t errlen)
{
    char q[SB_QUOTE_BUF(QUOTE_MAX)], msg[160];
    char wrapped[WRAPPED_MAX];
    const char *why;
    regex_t bare;
    int rc;

    sb__quote_bytes(cm->value, strlen(cm->value), QUOTE_MAX, '\'', q, sizeof q);
    /* The lexer's checks first: regcomp itself is what a blow-up
     * repetition would exhaust. */
    why = wrap_pattern(cm->value, wrapped);
    if (why != NULL) {
        set_err(err, errlen, "match '%s%s%s': invalid regex: %s", cm->key,
                op_text[cm->op], q, why);
        return SB_EINVAL;
    }
    rc = regcomp(&bare, cm->value, REG_EXTENDED | REG_NOSUB);
    if (rc == REG_ESPACE)
        return SB_ENOMEM;
    if (rc != 0) {
        regerror(rc, &bare, msg, sizeof msg);
        set_err(err, errlen, "match '%s%s%s': invalid regex: %s", cm->key,
                op_text[cm->op], q, msg);
        return SB_EINVAL;
    }
    regfree(&bare);
    rc = regcomp(&cm->re, wrapped, REG_EXTENDED | REG_NOSUB);
    if (rc == REG_ESPACE)
        return SB_ENOMEM;
    if (rc != 0) {
        regerror(rc, &cm->re, msg, sizeof msg);
        set_err(err, errlen, "match '%s%s%s': invalid regex: %s", cm->key,
                op_text[cm->op], q, msg);
        return SB_EINVAL;
    }
    cm->compiled = true;
    return SB_OK;
}

/* Checks a matcher given through the library (HTTP input is parsed by
 * sb__matcher_parse, which enforces the same). */
static int check_matcher(const sb_matcher *m, char *err, size_t errlen)
{
    size_t k = 0;

    if (m->key == NULL || m->value == NULL || m->op < SB_MATCH_EQ ||
        m->op > SB_MATCH_NRE) {
        set_err(err, errlen, "match: missing key or value, or unknown op");
        return SB_EINVAL;
    }
    while (key_char(m->key[k], k == 0))
        k++;
    if (k == 0 || m->key[k] != '\0' || k > SB_LABEL_KEY_MAX) {
        set_err(err, errlen, "match: key must be a label name or __name__");
        return SB_EINVAL;
    }
    if (strlen(m->value) > SB_MATCH_VALUE_MAX) {
        set_err(err, errlen, "match: value longer than %d bytes",
                SB_MATCH_VALUE_MAX);
        return SB_EINVAL;
    }
    return SB_OK;
}

int sb__matchset_compile(sb_matchset *ms, const sb_matcher *m, size_t n,
                         char *err, size_t errlen)
{
    int rc = SB_OK;

    ms->n = 0;
    if (n > SB_MATCHERS_MAX) {
        set_err(err, errlen, "match: more than %d matchers", SB_MATCHERS_MAX);
        return SB_ETOOLARGE;
    }
    for (size_t i = 0; i < n && rc == SB_OK; i++) {
        sb_cmatcher *cm = &ms->m[i];

        rc = check_matcher(&m[i], err, errlen);
        if (rc != SB_OK)
            break;
        cm->key = m[i].key;
        cm->value = m[i].value;
        cm->op = m[i].op;
        cm->is_name = strcmp(m[i].key, "__name__") == 0;
        cm->compiled = false;
        ms->n = i + 1;
        if (cm->op == SB_MATCH_RE || cm->op == SB_MATCH_NRE)
            rc = compile_regex(cm, err, errlen);
    }
    if (rc != SB_OK)
        sb__matchset_free(ms);
    return rc;
}

void sb__matchset_free(sb_matchset *ms)
{
    if (ms == NULL)
        return;
    for (size_t i = 0; i < ms->n; i++) {
        if (ms->m[i].compiled)
            regfree(&ms->m[i].re);
        ms->m[i].compiled = false;
    }
    ms->n = 0;
}

/* The value of label key in the canonical key, or "" when absent. */
static const char *label_value(const char *key, size_t key_len, size_t nlabels,
                               const char *want)
{
    const char *p = key, *end = key + key_len;

    p += strlen(p) + 1; /* the name */
    for (size_t i = 0; i < nlabels && p < end; i++) {
        const char *k = p;
        const char *v = k + strlen(k) + 1;
        int c = strcmp(k, want);

        if (c == 0)
            return v;
        if (c > 0) /* keys are sorted: it is not there */
            break;
        p = v + strlen(v) + 1;
    }
    return "";
}

bool sb__matchset_test(const sb_matchset *ms, const char *key, size_t key_len,
                       size_t nlabels)
{
    for (size_t i = 0; i < ms->n; i++) {
        const sb_cmatcher *cm = &ms->m[i];
        const char *v =
            cm->is_name ? key : label_value(key, key_len, nlabels, cm->key);
        bool hit;

        switch (cm->op) {
        case SB_MATCH_EQ:
            hit = strcmp(v, cm->value) == 0;
            break;
        case SB_MATCH_NE:
            hit = strcmp(v, cm->value) != 0;
            break;
        case SB_MATCH_RE:
            hit = regexec(&cm->re, v, 0, NULL, 0) == 0;
            break;
        default:
            hit = regexec(&cm->re, v, 0, NULL, 0) != 0;
            break;
        }
        if (!hit)
            return false;
    }
    return true;
}
