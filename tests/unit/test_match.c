/*
 * test_match.c - label matchers: parsing "KEY<op>VALUE", compiling, and
 * testing them against canonical series keys, directly and through the
 * public sb_query.
 *
 * Series keys are built as the store builds them ("name\0k1\0v1\0...",
 * labels sorted by key). Regex cases pin full anchoring, including
 * patterns that try to close the wrapping group themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scoreboard.h"
#include "store/match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* A canonical key: name then alternating sorted keys and values. */
typedef struct tkey {
    char buf[512];
    size_t len;
    size_t nlabels;
} tkey;

static void make_key(tkey *k, const char *name, const char *const *kv,
                     size_t nkv)
{
    k->len = 0;
    k->nlabels = nkv;
    memcpy(k->buf, name, strlen(name) + 1);
    k->len = strlen(name) + 1;
    for (size_t i = 0; i < 2 * nkv; i++) {
        size_t n = strlen(kv[i]) + 1;

        assert_true(k->len + n <= sizeof k->buf);
        memcpy(k->buf + k->len, kv[i], n);
        k->len += n;
    }
}

/* Whether the single matcher text (parsed then compiled) selects the
 * series name{kv}. Fails the test when the matcher does not compile. */
static bool matches(const char *text, const char *name, const char *const *kv,
                    size_t nkv)
{
    char copy[2048], err[256] = "";
    sb_matcher m;
    sb_matchset ms;
    tkey k;
    bool hit;

    snprintf(copy, sizeof copy, "%s", text);
    if (sb__matcher_parse(copy, &m, err, sizeof err) != SB_OK)
        fail_msg("parse '%s': %s", text, err);
    if (sb__matchset_compile(&ms, &m, 1, err, sizeof err) != SB_OK)
        fail_msg("compile '%s': %s", text, err);
    make_key(&k, name, kv, nkv);
    hit = sb__matchset_test(&ms, k.buf, k.len, k.nlabels);
    sb__matchset_free(&ms);
    return hit;
}

static void test_match_parse_splits_key_op_value(void **state)
{
    static const struct {
        const char *text, *key, *value;
        int op;
    } cases[] = {
        {"k=v", "k", "v", SB_MATCH_EQ},
        {"k!=v", "k", "v", SB_MATCH_NE},
        {"k=~v.*", "k", "v.*", SB_MATCH_RE},
        {"k!~v.*", "k", "v.*", SB_MATCH_NRE},
        {"k=", "k", "", SB_MATCH_EQ},
        {"k!=", "k", "", SB_MATCH_NE},
        {"k==v", "k", "=v", SB_MATCH_EQ},
        {"k=!v", "k", "!v", SB_MATCH_EQ},
        {"k=~", "k", "", SB_MATCH_RE},
        {"__name__=cpu", "__name__", "cpu", SB_MATCH_EQ},
        {"_k9=a=b", "_k9", "a=b", SB_MATCH_EQ},
        {"route=/api/v1/query", "route", "/api/v1/query", SB_MATCH_EQ},
    };
    char copy[64], err[256];
    sb_matcher m;

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        snprintf(copy, sizeof copy, "%s", cases[i].text);
        assert_int_equal(sb__matcher_parse(copy, &m, err, sizeof err), SB_OK);
        assert_string_equal(m.key, cases[i].key);
        assert_string_equal(m.value, cases[i].value);
        assert_int_equal(m.op, cases[i].op);
    }
}

static void test_match_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",    "=v",   "!=v",   "=~v",   "k",     "k~v",
        "k!v", "9k=v", "k-x=v", "k v=v", "k.x=v", "ké=v",
    };
    char copy[64], err[256];
    sb_matcher m;

    (void)state;
    for (size_t i = 0; i < NCASES(bad); i++) {
        snprintf(copy, sizeof copy, "%s", bad[i]);
        err[0] = '\0';
        if (sb__matcher_parse(copy, &m, err, sizeof err) != SB_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "match '"));
        assert_non_null(strstr(err, "KEY=VALUE"));
    }
}

static void test_match_parse_enforces_lengths(void **state)
{
    char text[SB_MATCH_VALUE_MAX + 300], err[256];
    sb_matcher m;

    (void)state;
    /* value of exactly the limit: accepted; one more: refused */
    memset(text, 'v', sizeof text);
    memcpy(text, "k=", 2);
    text[2 + SB_MATCH_VALUE_MAX] = '\0';
    assert_int_equal(sb__matcher_parse(text, &m, err, sizeof err), SB_OK);
    memset(text, 'v', sizeof text);
    memcpy(text, "k=", 2);
    text[3 + SB_MATCH_VALUE_MAX] = '\0';
    assert_int_equal(sb__matcher_parse(text, &m, err, sizeof err), SB_EINVAL);
    assert_non_null(strstr(err, "value longer than 1024 bytes"));

    /* key of SB_LABEL_KEY_MAX bytes: accepted; one more: refused */
    memset(text, 'k', sizeof text);
    text[SB_LABEL_KEY_MAX] = '=';
    text[SB_LABEL_KEY_MAX + 1] = '\0';
    assert_int_equal(sb__matcher_parse(text, &m, err, sizeof err), SB_OK);
    memset(text, 'k', sizeof text);
    text[SB_LABEL_KEY_MAX + 1] = '=';
    text[SB_LABEL_KEY_MAX + 2] = '\0';
    assert_int_equal(sb__matcher_parse(text, &m, err, sizeof err), SB_EINVAL);
    assert_non_null(strstr(err, "key longer than"));
}

static void test_match_every_op(void **state)
{
    static const char *const kv[] = {"env", "prod", "host", "web1"};

    (void)state;
    assert_true(matches("host=web1", "cpu", kv, 2));
    assert_false(matches("host=web", "cpu", kv, 2));
    assert_false(matches("host=web12", "cpu", kv, 2));
    assert_true(matches("host!=web2", "cpu", kv, 2));
    assert_false(matches("host!=web1", "cpu", kv, 2));
    assert_true(matches("host=~web[0-9]", "cpu", kv, 2));
    assert_false(matches("host=~db.*", "cpu", kv, 2));
    assert_true(matches("host!~db.*", "cpu", kv, 2));
    assert_false(matches("host!~web.*", "cpu", kv, 2));
    assert_true(matches("env=prod", "cpu", kv, 2));
}

static void test_match_name_key(void **state)
{
    static const char *const kv[] = {"a", "1"};

    (void)state;
    assert_true(matches("__name__=cpu", "cpu", kv, 1));
    assert_false(matches("__name__=cpu", "cpu_usage", kv, 1));
    assert_true(matches("__name__=~cpu.*", "cpu_usage", kv, 1));
    assert_true(matches("__name__!=mem", "cpu", NULL, 0));
    assert_true(matches("__name__!~mem|disk", "cpu", NULL, 0));
    assert_false(matches("__name__!~c.u", "cpu", NULL, 0));
}

/* A missing label has the value "": k!=v and k= hold, k=v does not. */
static void test_match_missing_label_is_empty(void **state)
{
    static const char *const sorted[] = {"b", "x", "d", "y"};

    (void)state;
    assert_true(matches("a=", "m", sorted, 2));
    assert_true(matches("c=", "m", sorted, 2));
    assert_true(matches("z=", "m", sorted, 2));
    assert_true(matches("a!=v", "m", sorted, 2));
    assert_false(matches("a=v", "m", sorted, 2));
    assert_false(matches("a!=", "m", sorted, 2));
    assert_true(matches("a=~", "m", sorted, 2));
    assert_true(matches("a=~v?", "m", sorted, 2));
    assert_false(matches("a=~v+", "m", sorted, 2));
    assert_true(matches("a!~.+", "m", sorted, 2));
    assert_false(matches("b=", "m", sorted, 2));
    assert_true(matches("k=", "m", NULL, 0));
    assert_true(matches("d=y", "m", sorted, 2));
}

static void test_match_regex_is_fully_anchored(void **state)
{
    static const char *const kv[] = {"k", "abc"};
    static const char *const paren[] = {"k", "a)"};
    static const char *const b[] = {"k", "b"};
    static const char *const ab[] = {"k", "ab"};

    (void)state;
    assert_true(matches("k=~abc", "m", kv, 1));
    assert_false(matches("k=~b", "m", kv, 1));
    assert_false(matches("k=~ab", "m", kv, 1));
    assert_false(matches("k=~bc", "m", kv, 1));
    assert_true(matches("k=~a.c|x", "m", kv, 1));
    assert_false(matches("k=~x|a", "m", kv, 1));
    assert_true(matches("k=~^abc$", "m", kv, 1));
    /* "a)|(b)" is "a)" or "b" to glibc; it must not become ^(a)|(b))$ */
    assert_true(matches("k=~a)|(b)", "m", paren, 1));
    assert_true(matches("k=~a)|(b)", "m", b, 1));
    assert_false(matches("k=~a)|(b)", "m", ab, 1));
    assert_false(matches("k=~a)|(b)", "m", kv, 1));
    assert_true(matches("k=~a[)]", "m", paren, 1));
    assert_true(matches("k=~a\\)", "m", paren, 1));
    assert_true(matches("k=~[]a]b", "m", ab, 1));
    assert_true(matches("k=~[[:alpha:]]+", "m", kv, 1));
    assert_false(matches("k!~a)|(b)", "m", b, 1));
}

static void test_match_rejects_bad_regexes(void **state)
{
    static const struct {
        const char *text, *phrase;
    } cases[] = {
        {"k=~(", "match 'k=~(': invalid regex: "},
        {"k!~[a", "match 'k!~[a': invalid regex: "},
        {"k=~a{2,1}", "invalid regex"},
        {"k=~(a)\\1", "back-references are not supported"},
        {"k=~x{256}", "a repetition count above 255"},
        {"k=~x{1,300}", "a repetition count above 255"},
        /* glibc reads {,N} as {0,N}: found by fuzz_query (gigabytes). */
        {"k=~x{,25234}12tx", "a repetition count above 255"},
        {"k=~(x{,255}){,255}", "beyond 512 atoms"},
        {"k=~((a{100}){100}){100}", "beyond 512 atoms"},
        {"k=~(((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)",
         "nested more than 3 deep"},
        {"k=~(x{64}y{64}){64}", "beyond 512 atoms"},
        {"k=~x????", "nested more than 3 deep"},
        {"k=~((x+)?)*{2}", "nested more than 3 deep"},
        {"k=~(a(b(c*)+)?)+", "nested more than 3 deep"},
        {"k=~x{16}{16}{17}", "beyond 512 atoms"},
        /* Seconds of regexec per 1 KiB value, under a shard lock. */
        {"k=~(.{0,255}){16}b", "beyond 512 atoms"},
        {"k=~(.{0,16}){33}b", "beyond 512 atoms"},
        {"k=~(x{16}?){16}+{16}", "nested more than 3 deep"},
    };
    char copy[256], err[256];
    sb_matcher m;
    sb_matchset ms;

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        snprintf(copy, sizeof copy, "%s", cases[i].text);
        assert_int_equal(sb__matcher_parse(copy, &m, err, sizeof err), SB_OK);
        err[0] = '\0';
        if (sb__matchset_compile(&ms, &m, 1, err, sizeof err) != SB_EINVAL)
            fail_msg("'%s' compiled", cases[i].text);
        if (strstr(err, cases[i].phrase) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, err,
                     cases[i].phrase);
    }
}

static void test_match_accepts_bounded_repetitions(void **state)
{
    static const char *const kv[] = {"id",
                                     "0123abcd-0123-4567-89ab-0123456789ab"};

    (void)state;
    assert_true(matches("id=~[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                        "-[0-9a-f]{12}",
                        "m", kv, 1));
    assert_true(matches("id=~.{36}", "m", kv, 1));
    assert_true(matches("id=~.{0,255}", "m", kv, 1));
    assert_true(matches("id=~.{,36}", "m", kv, 1));
    assert_true(matches("id=~(.{0,16}){32}", "m", kv, 1)); /* 512 atoms */
    assert_true(matches("id=~((.+)?)*", "m", kv, 1));      /* 3 deep */
    assert_true(matches("id=~[0-9a-f]+(-[0-9a-f]+)*", "m", kv, 1));
}

/* Several matchers AND together; more than SB_MATCHERS_MAX is refused. */
static void test_match_set_ands_and_limits(void **state)
{
    static const char *const kv[] = {"a", "1", "b", "2"};
    sb_matcher m[SB_MATCHERS_MAX + 1];
    sb_matchset ms;
    char err[256];
    tkey k;

    (void)state;
    make_key(&k, "m", kv, 2);
    for (size_t i = 0; i < SB_MATCHERS_MAX; i++)
        m[i] = (sb_matcher){"a", "1", SB_MATCH_EQ};
    m[SB_MATCHERS_MAX - 1] = (sb_matcher){"b", "[0-9]", SB_MATCH_RE};
    assert_int_equal(
        sb__matchset_compile(&ms, m, SB_MATCHERS_MAX, err, sizeof err), SB_OK);
    assert_true(sb__matchset_test(&ms, k.buf, k.len, k.nlabels));
    sb__matchset_free(&ms);

    m[3] = (sb_matcher){"b", "2", SB_MATCH_NE};
    assert_int_equal(
        sb__matchset_compile(&ms, m, SB_MATCHERS_MAX, err, sizeof err), SB_OK);
    assert_false(sb__matchset_test(&ms, k.buf, k.len, k.nlabels));
    sb__matchset_free(&ms);

    m[SB_MATCHERS_MAX] = m[0];
    assert_int_equal(
        sb__matchset_compile(&ms, m, SB_MATCHERS_MAX + 1, err, sizeof err),
        SB_ETOOLARGE);

    /* zero matchers select everything */
    assert_int_equal(sb__matchset_compile(&ms, NULL, 0, err, sizeof err),
                     SB_OK);
    assert_true(sb__matchset_test(&ms, k.buf, k.len, k.nlabels));
    sb__matchset_free(&ms);
}

/* Library matchers are checked like parsed ones. */
static void test_match_compile_checks_library_matchers(void **state)
{
    static char long_value[SB_MATCH_VALUE_MAX + 2];
    const sb_matcher bad[] = {
        {NULL, "v", SB_MATCH_EQ},
        {"k", NULL, SB_MATCH_EQ},
        {"k", "v", 7},
        {"k", "v", -1},
        {"", "v", SB_MATCH_EQ},
        {"a b", "v", SB_MATCH_EQ},
        {"1k", "v", SB_MATCH_EQ},
        {"k", long_value, SB_MATCH_EQ},
    };
    sb_matchset ms;
    char err[256];

    (void)state;
    memset(long_value, 'x', SB_MATCH_VALUE_MAX + 1);
    for (size_t i = 0; i < NCASES(bad); i++)
        assert_int_equal(sb__matchset_compile(&ms, &bad[i], 1, err, sizeof err),
                         SB_EINVAL);
}

static void write_point(sb_store *st, const char *name, const sb_label *l,
                        size_t nl, int64_t t)
{
    sb_sample s = {name, l, nl, 1.0, t};

    assert_int_equal(sb_store_write(st, &s), SB_OK);
}

/* sb_store_query with matchers: ANDed with names and with each other. */
static void test_match_store_query_uses_matchers(void **state)
{
    const sb_label web1[] = {{"host", "web1"}, {"env", "prod"}};
    const sb_label web2[] = {{"host", "web2"}};
    const sb_label db1[] = {{"host", "db1"}, {"env", "prod"}};
    const char *names[] = {"cpu"};
    sb_matcher m[2];
    sb_series_info info;
    sb_store *st;
    sb_result *res;
    sb_query q;
    int64_t now = sb_time_now();

    (void)state;
    assert_int_equal(sb_store_create(NULL, &st), SB_OK);
    write_point(st, "cpu", web1, 2, now);
    write_point(st, "cpu", web2, 1, now);
    write_point(st, "cpu", db1, 2, now);
    write_point(st, "mem", web1, 2, now);

    sb_query_init(&q);
    q.series_only = true;
    m[0] = (sb_matcher){"host", "web.*", SB_MATCH_RE};
    m[1] = (sb_matcher){"env", "prod", SB_MATCH_EQ};
    q.matchers = m;
    q.nmatchers = 2;
    assert_int_equal(sb_store_query(st, &q, &res), SB_OK);
    assert_int_equal(sb_result_series_count(res), 2); /* cpu, mem web1 */
    sb_result_free(res);

    q.names = names;
    q.nnames = 1;
    assert_int_equal(sb_store_query(st, &q, &res), SB_OK);
    assert_int_equal(sb_result_series_count(res), 1);
    sb_result_get_series(res, 0, &info);
    assert_string_equal(info.name, "cpu");
    sb_result_free(res);

    /* env!=prod: the series without env (web2) */
    m[0] = (sb_matcher){"env", "prod", SB_MATCH_NE};
    q.nmatchers = 1;
    q.series_only = false;
    assert_int_equal(sb_store_query(st, &q, &res), SB_OK);
    assert_int_equal(sb_result_point_count(res), 1);
    sb_result_get_series(res, 0, &info);
    assert_int_equal(info.nlabels, 1);
    assert_string_equal(info.labels[0].value, "web2");
    sb_result_free(res);

    m[0] = (sb_matcher){"host", "(", SB_MATCH_RE};
    assert_int_equal(sb_store_query(st, &q, &res), SB_EINVAL);
    assert_null(res);
    sb_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_parse_splits_key_op_value),
        cmocka_unit_test(test_match_parse_rejects_malformed),
        cmocka_unit_test(test_match_parse_enforces_lengths),
        cmocka_unit_test(test_match_every_op),
        cmocka_unit_test(test_match_name_key),
        cmocka_unit_test(test_match_missing_label_is_empty),
        cmocka_unit_test(test_match_regex_is_fully_anchored),
        cmocka_unit_test(test_match_rejects_bad_regexes),
        cmocka_unit_test(test_match_accepts_bounded_repetitions),
        cmocka_unit_test(test_match_set_ands_and_limits),
        cmocka_unit_test(test_match_compile_checks_library_matchers),
        cmocka_unit_test(test_match_store_query_uses_matchers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
