/*
 * test_statsd_parse.c - the StatsD line parser: a table of accepted lines
 * with their exact fields, a table of rejected lines with the phrase the
 * reason must contain, and the limits (name length, tag count, tag key
 * and value length) at and one past their bounds.
 *
 * Lines are copied into exactly-sized heap blocks so ASan catches a read
 * past the end; cases may embed NUL bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/statsd_parse.h"
#include "scoreboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit)    lit, sizeof(lit) - 1
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static sb_statsd_line *line_buf(void)
{
    static sb_statsd_line l;

    return &l;
}

static int parse(const char *text, size_t len, const char **reason)
{
    char *copy = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, text, len);
    rc = sb__statsd_parse(copy, len, line_buf(), reason);
    free(copy);
    return rc;
}

static const sb_statsd_line *parse_ok(const char *text, size_t len)
{
    const char *reason = NULL;
    int rc = parse(text, len, &reason);

    if (rc != 0)
        fail_msg("'%.*s' refused: %s", (int)len, text, reason);
    return line_buf();
}

typedef struct ok_case {
    const char *text;
    size_t len;
    const char *name;
    int type;
    double value;
    bool delta;
    double rate;
    const char *member; /* sets */
    const char *tags;   /* "k=v;k2=v2" of the sorted tags, "" for none */
} ok_case;

static void tags_text(const sb_statsd_line *l, char *out, size_t n)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < l->ntags; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s=%s", i ? ";" : "",
                              l->tags[i].key, l->tags[i].value);
}

static void test_statsd_parse_accepts_every_type(void **state)
{
    static const ok_case cases[] = {
        {S("hits:1|c"), "hits", SB_STATSD_COUNTER, 1, false, 1, NULL, ""},
        {S("hits:2.5|c|@0.1"), "hits", SB_STATSD_COUNTER, 2.5, false, 0.1, NULL,
         ""},
        {S("hits:-3|c"), "hits", SB_STATSD_COUNTER, -3, false, 1, NULL, ""},
        {S("hits:1|c|@1"), "hits", SB_STATSD_COUNTER, 1, false, 1, NULL, ""},
        {S("temp:21.5|g"), "temp", SB_STATSD_GAUGE, 21.5, false, 1, NULL, ""},
        {S("temp:+4|g"), "temp", SB_STATSD_GAUGE, 4, true, 1, NULL, ""},
        {S("temp:-4|g"), "temp", SB_STATSD_GAUGE, -4, true, 1, NULL, ""},
        {S("lat:320|ms"), "lat", SB_STATSD_TIMER, 320, false, 1, NULL, ""},
        {S("lat:1e3|ms|@0.5"), "lat", SB_STATSD_TIMER, 1000, false, 0.5, NULL,
         ""},
        {S("size:7|h"), "size", SB_STATSD_HISTOGRAM, 7, false, 1, NULL, ""},
        {S("size:.5|d"), "size", SB_STATSD_HISTOGRAM, 0.5, false, 1, NULL, ""},
        {S("users:alice|s"), "users", SB_STATSD_SET, 0, false, 1, "alice", ""},
        {S("users:12:34|s"), "users", SB_STATSD_SET, 0, false, 1, "12:34", ""},
        /* tags: sorted, sanitised keys, bare tags, CRLF */
        {S("d:1|c|#env:prod,az:b"), "d", SB_STATSD_COUNTER, 1, false, 1, NULL,
         "az=b;env=prod"},
        {S("d:1|c|@0.5|#env:prod"), "d", SB_STATSD_COUNTER, 1, false, 0.5, NULL,
         "env=prod"},
        {S("d:1|c|#env:prod|@0.25"), "d", SB_STATSD_COUNTER, 1, false, 0.25,
         NULL, "env=prod"},
        {S("d:1|c|#canary"), "d", SB_STATSD_COUNTER, 1, false, 1, NULL,
         "canary="},
        {S("d:1|c|#my-key.x:v:w"), "d", SB_STATSD_COUNTER, 1, false, 1, NULL,
         "my_key_x=v:w"},
        {S("d:1|c|#1st:a"), "d", SB_STATSD_COUNTER, 1, false, 1, NULL,
         "_1st=a"},
        {S("d:1|c|#k:caf\xc3\xa9"), "d", SB_STATSD_COUNTER, 1, false, 1, NULL,
         "k=caf\xc3\xa9"},
        {S("d:1|c\r"), "d", SB_STATSD_COUNTER, 1, false, 1, NULL, ""},
        /* DogStatsD container and timestamp sections are ignored */
        {S("d:1|c|#a:b|c:abc123|T1656581400"), "d", SB_STATSD_COUNTER, 1, false,
         1, NULL, "a=b"},
        /* names: kept, mapped, prefixed */
        {S("api.v2.req-count:1|c"), "api.v2.req-count", SB_STATSD_COUNTER, 1,
         false, 1, NULL, ""},
        {S("my metric/x:1|c"), "my_metric_x", SB_STATSD_COUNTER, 1, false, 1,
         NULL, ""},
        {S("5xx:1|c"), "_5xx", SB_STATSD_COUNTER, 1, false, 1, NULL, ""},
        {S(".hidden:1|c"), "_.hidden", SB_STATSD_COUNTER, 1, false, 1, NULL,
         ""},
        /* a first byte mapped to '_' needs no second '_' (a key "__x"
         * would be a reserved Prometheus label, left out of /metrics) */
        {S("/api:1|c"), "_api", SB_STATSD_COUNTER, 1, false, 1, NULL, ""},
        {S(" x:1|c"), "_x", SB_STATSD_COUNTER, 1, false, 1, NULL, ""},
        {S("d:1|c|#-env:a,.k:b,9:c"), "d", SB_STATSD_COUNTER, 1, false, 1, NULL,
         "_9=c;_env=a;_k=b"},
    };
    char tags[512];

    for (size_t i = 0; i < NCASES(cases); i++) {
        const ok_case *c = &cases[i];
        const sb_statsd_line *l = parse_ok(c->text, c->len);

        assert_string_equal(l->name, c->name);
        assert_int_equal(l->type, c->type);
        assert_true(l->delta == c->delta);
        assert_true(l->rate == c->rate);
        if (c->member != NULL)
            assert_string_equal(l->member, c->member);
        else
            assert_true(l->value == c->value);
        tags_text(l, tags, sizeof tags);
        assert_string_equal(tags, c->tags);
    }
}

typedef struct bad_case {
    const char *text;
    size_t len;
    const char *phrase;
} bad_case;

static void test_statsd_parse_rejects_malformed_lines(void **state)
{
    static const bad_case cases[] = {
        {S(""), "empty line"},
        {S("\r"), "empty line"},
        {S("hits"), "no ':'"},
        {S("hits|c"), "no ':'"},
        {S(":1|c"), "empty name"},
        {S("hits:1"), "no '|'"},
        {S("hits:1|"), "unknown type"},
        {S("hits:1|x"), "unknown type"},
        {S("hits:1|cc"), "unknown type"},
        {S("hits:1|C"), "unknown type"},
        {S("hits:|c"), "empty number"},
        {S("hits:abc|c"), "not a decimal"},
        {S("hits:1x|c"), "not a decimal"},
        {S("hits: 1|c"), "not a decimal"},
        {S("hits:0x10|c"), "not a decimal"},
        {S("hits:NaN|c"), "not a decimal"},
        {S("hits:nan|g"), "not a decimal"},
        {S("hits:inf|ms"), "not a decimal"},
        {S("hits:-Infinity|g"), "not a decimal"},
        {S("hits:1e|c"), "not a decimal"},
        {S("hits:.|c"), "not a decimal"},
        {S("hits:1..2|c"), "not a decimal"},
        {S("hits:1e999|c"), "out of range"},
        {S("hits:-1e400|g"), "out of range"},
        {S("hits:1|c|@0"), "(0, 1]"},
        {S("hits:1|c|@1.5"), "(0, 1]"},
        {S("hits:1|c|@-0.5"), "(0, 1]"},
        {S("hits:1|c|@"), "empty number"},
        {S("hits:1|c|@abc"), "not a decimal"},
        {S("hits:1|c|@0.5|@0.5"), "repeated section"},
        {S("hits:1|c|#a:b|#c:d"), "repeated section"},
        {S("hits:1|c|"), "empty section"},
        {S("hits:1|c||#a"), "empty section"},
        {S("hits:1|c|x"), "unknown"},
        {S("hits:1|c|#"), "empty tag list"},
        {S("hits:1|c|#a:b,"), "empty tag key"},
        {S("hits:1|c|#,a:b"), "empty tag key"},
        {S("hits:1|c|#:v"), "empty tag key"},
        {S("hits:1|c|#a:1,a:2"), "repeated tag key"},
        {S("hits:1|c|#a-b:1,a_b:2"), "repeated tag key"},
        {S("hits:1|c|#quantile:0.5"), "reserved"},
        {S("users:|s"), "empty set member"},
        {S("h\xc3\xa9:1|c"), "non-ASCII"},
        {S("hits:1|c|#k:\xff"), "UTF-8"},
        {S("hits:1|c|#k:\xc3"), "UTF-8"},
        {S("hits:1|c|#k:\xc0\xaf"), "UTF-8"},
        {S("hits:1|c|#k:\xed\xa0\x80"), "UTF-8"},
        {S("hits:1|c|#k:\xf4\x90\x80\x80"), "UTF-8"},
        {S("hi\0ts:1|c"), "control byte"},
        {S("hits:1|c\0"), "control byte"},
        {S("hits:1\t|c"), "control byte"},
        {S("hits:1|c\n"), "control byte"},
        {S("hits:1|c\r\r"), "control byte"},
    };

    for (size_t i = 0; i < NCASES(cases); i++) {
        const bad_case *c = &cases[i];
        const char *reason = NULL;
        int rc = parse(c->text, c->len, &reason);

        if (rc == 0)
            fail_msg("case %zu accepted: '%.*s'", i, (int)c->len, c->text);
        assert_non_null(reason);
        if (strstr(reason, c->phrase) == NULL)
            fail_msg("case %zu '%.*s': reason '%s' lacks '%s'", i, (int)c->len,
                     c->text, reason, c->phrase);
    }
}

/* A line of `prefix`, n copies of ch, then `suffix`, on the heap. */
static char *repeat(const char *prefix, char ch, size_t n, const char *suffix,
                    size_t *len)
{
    size_t lp = strlen(prefix), ls = strlen(suffix);
    char *s = malloc(lp + n + ls + 1);

    assert_non_null(s);
    memcpy(s, prefix, lp);
    memset(s + lp, ch, n);
    memcpy(s + lp + n, suffix, ls + 1);
    *len = lp + n + ls;
    return s;
}

/* Parses prefix + n * ch + suffix. */
static int try_line(const char *prefix, char ch, size_t n, const char *suffix,
                    const char **reason)
{
    size_t len;
    char *s = repeat(prefix, ch, n, suffix, &len);
    int rc = parse(s, len, reason);

    free(s);
    return rc;
}

static void test_statsd_parse_length_limits_are_exact(void **state)
{
    const char *reason;

    assert_int_equal(try_line("", 'a', SB_STATSD_NAME_MAX, ":1|c", &reason), 0);
    assert_int_equal(try_line("", 'a', SB_STATSD_NAME_MAX + 1, ":1|c", &reason),
                     SB_EINVAL);
    assert_non_null(strstr(reason, "name too long"));
    /* The '_' a leading digit gets counts towards the limit. */
    assert_int_equal(
        try_line("9", 'a', SB_STATSD_NAME_MAX - 1, ":1|c", &reason), SB_EINVAL);
    assert_int_equal(try_line("a:1|c|#", 'k', SB_LABEL_KEY_MAX, ":v", &reason),
                     0);
    assert_int_equal(
        try_line("a:1|c|#", 'k', SB_LABEL_KEY_MAX + 1, ":v", &reason),
        SB_EINVAL);
    assert_non_null(strstr(reason, "tag key too long"));
    assert_int_equal(
        try_line("a:1|c|#k:", 'v', SB_LABEL_VALUE_MAX, "", &reason), 0);
    assert_int_equal(
        try_line("a:1|c|#k:", 'v', SB_LABEL_VALUE_MAX + 1, "", &reason),
        SB_EINVAL);
    assert_int_equal(try_line("a:", 'm', SB_STATSD_MEMBER_MAX, "|s", &reason),
                     0);
    assert_int_equal(
        try_line("a:", 'm', SB_STATSD_MEMBER_MAX + 1, "|s", &reason),
        SB_EINVAL);
    assert_int_equal(try_line("a:1", '0', SB_STATSD_NUMBER_MAX, "|c", &reason),
                     SB_EINVAL);
    assert_non_null(strstr(reason, "number too long"));
    assert_int_equal(
        try_line("a:1|c|#k:", 'v', SB_STATSD_LINE_MAX, "", &reason),
        SB_ETOOLARGE);
}

/* "a:1|c|#t0:v,t1:v,..." with n tags. */
static char *many_tags(size_t n, size_t *len)
{
    size_t cap = 16 + n * 16, o;
    char *s = malloc(cap);

    assert_non_null(s);
    o = (size_t)snprintf(s, cap, "a:1|c|#");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "%st%zu:v", i ? "," : "", i);
    *len = o;
    return s;
}

static void test_statsd_parse_tag_count_limit_is_exact(void **state)
{
    const char *reason;
    size_t len;
    char *s = many_tags(SB_STATSD_TAGS_MAX, &len);

    assert_int_equal(parse(s, len, &reason), 0);
    assert_int_equal(line_buf()->ntags, SB_STATSD_TAGS_MAX);
    for (size_t i = 1; i < line_buf()->ntags; i++)
        assert_true(
            strcmp(line_buf()->tags[i - 1].key, line_buf()->tags[i].key) < 0);
    free(s);
    s = many_tags(SB_STATSD_TAGS_MAX + 1, &len);
    assert_int_equal(parse(s, len, &reason), SB_EINVAL);
    assert_non_null(strstr(reason, "too many tags"));
    free(s);
}

/* The worst line the limits allow fills the text buffer without
 * overflowing it: longest name, member and every tag at full size. */
static void test_statsd_parse_largest_line_fits(void **state)
{
    size_t cap = SB_STATSD_TEXT_MAX * 2, o = 0;
    char *s = malloc(cap);
    const char *reason;

    assert_non_null(s);
    memset(s, 'n', SB_STATSD_NAME_MAX);
    o = SB_STATSD_NAME_MAX;
    s[o++] = ':';
    memset(s + o, 'm', SB_STATSD_MEMBER_MAX);
    o += SB_STATSD_MEMBER_MAX;
    memcpy(s + o, "|s|#", 4);
    o += 4;
    for (size_t t = 0; t < SB_STATSD_TAGS_MAX; t++) {
        if (t > 0)
            s[o++] = ',';
        memset(s + o, 'k', SB_LABEL_KEY_MAX - 3);
        o += SB_LABEL_KEY_MAX - 3;
        o += (size_t)snprintf(s + o, 4, "%03zu", t);
        s[o++] = ':';
        memset(s + o, 'v', SB_LABEL_VALUE_MAX);
        o += SB_LABEL_VALUE_MAX;
    }
    assert_int_equal(parse(s, o, &reason), 0);
    assert_int_equal(line_buf()->ntags, SB_STATSD_TAGS_MAX);
    assert_true(line_buf()->used <= sizeof line_buf()->text);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statsd_parse_accepts_every_type),
        cmocka_unit_test(test_statsd_parse_rejects_malformed_lines),
        cmocka_unit_test(test_statsd_parse_length_limits_are_exact),
        cmocka_unit_test(test_statsd_parse_tag_count_limit_is_exact),
        cmocka_unit_test(test_statsd_parse_largest_line_fits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
