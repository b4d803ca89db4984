/*
 * test_points_parse.c - the POST /metrics body parser: accepted bodies
 * with their exact samples, and a table of hostile or malformed bodies
 * with the error code, the error index and a phrase the message must
 * contain.
 *
 * Bodies are passed with explicit lengths (cases may embed NUL bytes)
 * and copied into exactly-sized heap blocks so ASan catches any read past
 * the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/points_parse.h"
#include "scoreboard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit)    lit, sizeof(lit) - 1
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define NOW       INT64_C(1796322133000000000)
#define SEC       INT64_C(1000000000)

static int parse(const char *body, size_t len, sb_parsed_batch *out,
                 sb_parse_error *err)
{
    char *copy = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, body, len);
    rc = sb__parse_points(copy, len, NOW, out, err);
    free(copy);
    return rc;
}

/* Parses a body expected to be accepted; fails the test otherwise. */
static void parse_ok(const char *body, size_t len, sb_parsed_batch *out)
{
    sb_parse_error err;
    int rc = parse(body, len, out, &err);

    if (rc != 0)
        print_error("rejected: index %ld: %s\n", err.index, err.message);
    assert_int_equal(rc, 0);
}

static const char *label_value(const sb_sample *s, const char *key)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        if (strcmp(s->labels[i].key, key) == 0)
            return s->labels[i].value;
    }
    return NULL;
}

static void test_single_object_defaults_time_to_now(void **state)
{
    sb_parsed_batch b;

    (void)state;
    parse_ok(S("{\"name\": \"cpu\", \"value\": 45.2}"), &b);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.samples[0].name, "cpu");
    assert_true(b.samples[0].value == 45.2);
    assert_true(b.samples[0].time_ns == NOW);
    assert_int_equal(b.samples[0].nlabels, 0);
    sb__parsed_batch_free(&b);
    assert_null(b.samples);
    assert_null(b.priv);
}

static void test_array_parses_every_field(void **state)
{
    static const char body[] =
        " \n[{\"name\": \"cpu\", \"value\": 1, \"time\": "
        "\"2026-12-03T18:22:13Z\", \"labels\": {\"host\": \"a\", "
        "\"dc\": \"\xc3\xa9u\"}},\n"
        " {\"labels\": {}, \"time\": 1733250133.25, \"value\": -0,"
        " \"name\": \"mem\"},\n"
        " {\"name\": \"x\", \"value\": 1e308, \"time\": -0,"
        " \"labels\": {\"k\": \"\"}}] \n";
    sb_parsed_batch b;

    (void)state;
    parse_ok(body, sizeof(body) - 1, &b);
    assert_int_equal(b.n, 3);

    assert_string_equal(b.samples[0].name, "cpu");
    assert_true(b.samples[0].value == 1.0);
    assert_true(b.samples[0].time_ns == INT64_C(1796322133000000000));
    assert_int_equal(b.samples[0].nlabels, 2);
    assert_string_equal(label_value(&b.samples[0], "host"), "a");
    assert_string_equal(label_value(&b.samples[0], "dc"), "\xc3\xa9u");

    assert_string_equal(b.samples[1].name, "mem");
    assert_true(b.samples[1].value == 0.0 && signbit(b.samples[1].value));
    assert_true(b.samples[1].time_ns == INT64_C(1733250133250000000));
    assert_int_equal(b.samples[1].nlabels, 0);

    assert_true(b.samples[2].value == 1e308);
    assert_true(b.samples[2].time_ns == 0);
    assert_int_equal(b.samples[2].nlabels, 1);
    assert_string_equal(label_value(&b.samples[2], "k"), "");
    sb__parsed_batch_free(&b);
}

static void test_special_values_and_big_integers(void **state)
{
    static const char body[] =
        "[{\"name\":\"a\",\"value\":\"NaN\"},"
        "{\"name\":\"a\",\"value\":\"+Inf\"},"
        "{\"name\":\"a\",\"value\":\"Inf\"},"
        "{\"name\":\"a\",\"value\":\"-Inf\"},"
        "{\"name\":\"a\",\"value\":12345678901234567890},"
        "{\"name\":\"a\",\"value\":-9223372036854775809},"
        "{\"name\":\"a\",\"value\":1e-400},"
        "{\"name\":\"a\",\"value\":1733250133,\"time\":1733250133}]";
    sb_parsed_batch b;

    (void)state;
    parse_ok(body, sizeof(body) - 1, &b);
    assert_int_equal(b.n, 8);
    assert_true(isnan(b.samples[0].value));
    assert_true(isinf(b.samples[1].value) && b.samples[1].value > 0);
    assert_true(isinf(b.samples[2].value) && b.samples[2].value > 0);
    assert_true(isinf(b.samples[3].value) && b.samples[3].value < 0);
    assert_true(b.samples[4].value == 12345678901234567890.0);
    assert_true(b.samples[5].value == -9223372036854775809.0);
    assert_true(b.samples[6].value == 0.0);
    assert_true(b.samples[7].time_ns == INT64_C(1733250133) * SEC);
    sb__parsed_batch_free(&b);
}

static void test_labels_point_into_their_own_sample(void **state)
{
    static const char body[] =
        "[{\"name\":\"a\",\"value\":1,\"labels\":{\"x\":\"1\",\"y\":\"2\"}},"
        "{\"name\":\"b\",\"value\":2},"
        "{\"name\":\"c\",\"value\":3,\"labels\":{\"z\":\"3\"}}]";
    sb_parsed_batch b;

    (void)state;
    parse_ok(body, sizeof(body) - 1, &b);
    assert_int_equal(b.samples[0].nlabels, 2);
    assert_string_equal(label_value(&b.samples[0], "x"), "1");
    assert_string_equal(label_value(&b.samples[0], "y"), "2");
    assert_null(label_value(&b.samples[0], "z"));
    assert_int_equal(b.samples[1].nlabels, 0);
    assert_int_equal(b.samples[2].nlabels, 1);
    assert_string_equal(b.samples[2].labels[0].key, "z");
    assert_string_equal(b.samples[2].labels[0].value, "3");
    sb__parsed_batch_free(&b);
}

static void test_empty_array_is_an_empty_batch(void **state)
{
    sb_parsed_batch b;

    (void)state;
    parse_ok(S("[]"), &b);
    assert_int_equal(b.n, 0);
    sb__parsed_batch_free(&b);
    sb__parsed_batch_free(NULL);
}

typedef struct reject_case {
    const char *body;
    size_t len;
    int rc;
    long index;
    const char *phrase; /* must occur in the message */
} reject_case;

#define BODY_ERR(lit, phrase)                                                  \
    {                                                                          \
        S(lit), SB_EINVAL, -1, phrase                                          \
    }
#define POINT_ERR(lit, idx, phrase)                                            \
    {                                                                          \
        S(lit), SB_EINVAL, idx, phrase                                         \
    }
#define P(fields) "{\"name\":\"a\",\"value\":1," fields "}"
#define P0        "{\"name\":\"a\",\"value\":1}"

static const reject_case rejects[] = {
    BODY_ERR("", "empty body"),
    BODY_ERR("   ", "invalid JSON"),
    BODY_ERR("null", "body must be a JSON object or an array of objects"),
    BODY_ERR("1", "body must be a JSON object or an array"),
    BODY_ERR("\"x\"", "body must be a JSON object or an array"),
    BODY_ERR("true", "body must be a JSON object or an array"),
    BODY_ERR("{", "invalid JSON at line 1"),
    BODY_ERR("{\"name\":\"a\",\"value\":1} x", "invalid JSON at line 1"),
    BODY_ERR("{\"name\":\"a\",\"value\":1}\0", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\0\",\"value\":1}", "invalid JSON"),
    BODY_ERR("\0{\"name\":\"a\",\"value\":1}", "invalid JSON"),
    BODY_ERR("\xef\xbb\xbf{\"name\":\"a\",\"value\":1}", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\\u0000b\",\"value\":1}",
             "\\u0000 is not allowed in strings"),
    BODY_ERR(P("\"labels\":{\"a\\u0000\":\"1\"}"), "invalid JSON"),
    BODY_ERR("{\"name\":\"\xff\",\"value\":1}", "invalid JSON"),
    BODY_ERR("{\"name\":\"\xc0\xaf\",\"value\":1}", "invalid JSON"),
    BODY_ERR("{\"name\":\"\xed\xa0\x80\",\"value\":1}", "invalid JSON"),
    BODY_ERR("{\"name\":\"\\ud800\",\"value\":1}", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\",\"name\":\"b\",\"value\":1}", "duplicate"),
    BODY_ERR(P("\"labels\":{\"h\":\"1\",\"h\":\"2\"}"), "duplicate"),
    BODY_ERR("{\"name\":\"a\",\"value\":1e400}", "overflow"),
    BODY_ERR("{\"name\":\"a\",\"value\":-1e400}", "overflow"),
    BODY_ERR("{\"name\":\"a\",\"value\":NaN}", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\",\"value\":Infinity}", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\",\"value\":01}", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\",\"value\":+1}", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\",\"value\":0x10}", "invalid JSON"),
    BODY_ERR("{'name':'a','value':1}", "invalid JSON"),
    BODY_ERR("[{\"name\":\"a\",\"value\":1},]", "invalid JSON"),
    BODY_ERR("{\"name\":\"a\",\"value\":1,\"time\":1e400}", "overflow"),
    POINT_ERR("[1]", 0, "point must be a JSON object"),
    POINT_ERR("[[]]", 0, "point must be a JSON object"),
    POINT_ERR("[" P0 ",null]", 1, "point must be a JSON object"),
    POINT_ERR("[" P0 "," P0 ",{\"value\":1}]", 2, "missing field 'name'"),
    POINT_ERR("{}", 0, "missing field 'name'"),
    POINT_ERR("{\"name\":\"a\"}", 0, "missing field 'value'"),
    POINT_ERR("{\"name\":5,\"value\":1}", 0, "field 'name'"),
    POINT_ERR("{\"name\":\"\",\"value\":1}", 0, "field 'name'"),
    POINT_ERR("{\"name\":null,\"value\":1}", 0, "field 'name'"),
    POINT_ERR("{\"name\":[\"a\"],\"value\":1}", 0, "field 'name'"),
    POINT_ERR("{\"name\":\"a\",\"value\":true}", 0,
              "field 'value' must be a number or \"NaN\", \"+Inf\", \"-Inf\""),
    POINT_ERR("{\"name\":\"a\",\"value\":null}", 0, "field 'value'"),
    POINT_ERR("{\"name\":\"a\",\"value\":\"nan\"}", 0, "field 'value'"),
    POINT_ERR("{\"name\":\"a\",\"value\":\"inf\"}", 0, "field 'value'"),
    POINT_ERR("{\"name\":\"a\",\"value\":\"Infinity\"}", 0, "field 'value'"),
    POINT_ERR("{\"name\":\"a\",\"value\":\"NaN \"}", 0, "field 'value'"),
    POINT_ERR("{\"name\":\"a\",\"value\":\"1\"}", 0, "field 'value'"),
    POINT_ERR("{\"name\":\"a\",\"value\":{}}", 0, "field 'value'"),
    POINT_ERR("{\"name\":\"a\",\"value\":[1]}", 0, "field 'value'"),
    POINT_ERR(P("\"time\":\"now-5m\""), 0, "time: invalid RFC 3339 timestamp"),
    POINT_ERR(P("\"time\":\"now\""), 0, "time: invalid RFC 3339"),
    POINT_ERR(P("\"time\":\"1733250133\""), 0, "time: invalid RFC 3339"),
    POINT_ERR(P("\"time\":\"2026-02-30T00:00:00Z\""), 0,
              "time: invalid RFC 3339"),
    POINT_ERR(P("\"time\":\"2026-12-03T24:00:00Z\""), 0,
              "time: invalid RFC 3339"),
    POINT_ERR(P("\"time\":\"\""), 0, "time: invalid RFC 3339"),
    POINT_ERR(P("\"time\":\"2262-04-12T00:00:00Z\""), 0, "time out of range"),
    POINT_ERR(P("\"time\":\"1677-09-21T00:12:43Z\""), 0, "time out of range"),
    POINT_ERR(P("\"time\":-1"), 0, "time out of range"),
    POINT_ERR(P("\"time\":-1e-300"), 0, "time out of range"),
    POINT_ERR(P("\"time\":1e300"), 0, "time out of range"),
    POINT_ERR(P("\"time\":9223372037"), 0, "time out of range"),
    POINT_ERR(P("\"time\":99999999999999999999999"), 0, "time out of range"),
    POINT_ERR(P("\"time\":null"), 0, "field 'time'"),
    POINT_ERR(P("\"time\":true"), 0, "field 'time'"),
    POINT_ERR(P("\"time\":[1]"), 0, "field 'time'"),
    POINT_ERR(P("\"labels\":[]"), 0, "field 'labels' must be an object"),
    POINT_ERR(P("\"labels\":null"), 0, "field 'labels'"),
    POINT_ERR(P("\"labels\":\"a=b\""), 0, "field 'labels'"),
    POINT_ERR(P("\"labels\":{\"h\":1}"), 0, "label 'h' must be a string"),
    POINT_ERR(P("\"labels\":{\"h\":null}"), 0, "label 'h'"),
    POINT_ERR(P("\"labels\":{\"h\":true}"), 0, "label 'h'"),
    POINT_ERR(P("\"labels\":{\"ok\":\"1\",\"h\":{}}"), 0, "label 'h'"),
    POINT_ERR(P("\"labels\":{\"h\":[\"x\"]}"), 0, "label 'h'"),
    POINT_ERR(P("\"foo\":1"), 0, "unknown field 'foo'"),
    POINT_ERR(P("\"Name\":\"b\""), 0, "unknown field 'Name'"),
    POINT_ERR(P("\"\":1"), 0, "unknown field ''"),
    POINT_ERR(P("\"a'b\\\\\\u0001\xc3\xa9\":1"), 0,
              "unknown field 'a\\x27b\\x5c\\x01\\xc3\\xa9'"),
};

static void test_rejects_malformed_and_hostile_bodies(void **state)
{
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < NCASES(rejects); i++) {
        const reject_case *c = &rejects[i];
        sb_parsed_batch b;
        sb_parse_error err;
        int rc = parse(c->body, c->len, &b, &err);

        if (rc != c->rc || err.index != c->index ||
            strstr(err.message, c->phrase) == NULL) {
            print_error("case %zu %.*s: rc %d index %ld message \"%s\"\n", i,
                        (int)c->len, c->body, rc, err.index, err.message);
            failures++;
        }
        if (rc != 0 && (b.samples != NULL || b.n != 0 || b.priv != NULL)) {
            print_error("case %zu: output not cleared on failure\n", i);
            failures++;
        }
        if (rc == 0)
            sb__parsed_batch_free(&b);
    }
    assert_int_equal(failures, 0);
}

/* Builds "[" item "," item ... "]" with n items into a heap string. */
static char *repeat_array(const char *item, size_t n, size_t *len)
{
    size_t ilen = strlen(item);
    char *s = malloc(n * (ilen + 1) + 3);
    size_t o = 0;

    assert_non_null(s);
    s[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            s[o++] = ',';
        memcpy(s + o, item, ilen);
        o += ilen;
    }
    s[o++] = ']';
    s[o] = '\0';
    *len = o;
    return s;
}

static void test_batch_size_limit_is_exact(void **state)
{
    sb_parsed_batch b;
    sb_parse_error err;
    size_t len;
    char *body;

    (void)state;
    body = repeat_array("{\"name\":\"a\",\"value\":1}", SB_MAX_BATCH, &len);
    assert_int_equal(sb__parse_points(body, len, NOW, &b, &err), 0);
    assert_int_equal(b.n, SB_MAX_BATCH);
    assert_string_equal(b.samples[SB_MAX_BATCH - 1].name, "a");
    sb__parsed_batch_free(&b);
    free(body);

    body = repeat_array("{}", SB_MAX_BATCH + 1, &len);
    assert_int_equal(sb__parse_points(body, len, NOW, &b, &err), SB_ETOOLARGE);
    assert_int_equal(err.index, -1);
    assert_non_null(strstr(err.message, "100000"));
    assert_null(b.samples);
    free(body);
}

static void test_deep_nesting_is_rejected_without_crashing(void **state)
{
    const size_t depth = 100000;
    sb_parsed_batch b;
    sb_parse_error err;
    char *body = malloc(2 * depth + 64);
    size_t o = 0;

    (void)state;
    assert_non_null(body);
    memset(body, '[', depth);
    memset(body + depth, ']', depth);
    assert_int_equal(sb__parse_points(body, 2 * depth, NOW, &b, &err),
                     SB_EINVAL);
    assert_int_equal(err.index, -1);
    assert_non_null(strstr(err.message, "invalid JSON"));

    /* The same depth inside a label value. */
    o = (size_t)snprintf(body, 64, "%s", P("\"labels\":{\"a\":"));
    o--; /* drop the closing brace of P() */
    memset(body + o, '[', depth);
    o += depth;
    memset(body + o, ']', depth);
    o += depth;
    memcpy(body + o, "}}", 2);
    o += 2;
    assert_int_equal(sb__parse_points(body, o, NOW, &b, &err), SB_EINVAL);
    assert_int_equal(err.index, -1);
    free(body);
}

static void test_label_count_limit_is_exact(void **state)
{
    char body[2048];
    sb_parsed_batch b;
    sb_parse_error err;
    size_t o;

    (void)state;
    for (int n = SB_LABELS_MAX; n <= SB_LABELS_MAX + 1; n++) {
        o = (size_t)snprintf(body, sizeof(body),
                             "{\"name\":\"a\",\"value\":1,\"labels\":{");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(body + o, sizeof(body) - o, "%s\"k%d\":\"v\"",
                                  i ? "," : "", i);
        o += (size_t)snprintf(body + o, sizeof(body) - o, "}}");
        if (n == SB_LABELS_MAX) {
            assert_int_equal(sb__parse_points(body, o, NOW, &b, &err), 0);
            assert_int_equal(b.samples[0].nlabels, SB_LABELS_MAX);
            sb__parsed_batch_free(&b);
        } else {
            assert_int_equal(sb__parse_points(body, o, NOW, &b, &err),
                             SB_EINVAL);
            assert_int_equal(err.index, 0);
            assert_non_null(strstr(err.message, "labels"));
        }
    }
}

static void test_long_unknown_key_is_truncated_in_message(void **state)
{
    char body[4096];
    sb_parsed_batch b;
    sb_parse_error err;
    size_t o;

    (void)state;
    o = (size_t)snprintf(body, sizeof(body), "{\"");
    memset(body + o, 'k', 3000);
    o += 3000;
    o += (size_t)snprintf(body + o, sizeof(body) - o, "\":1}");
    assert_int_equal(sb__parse_points(body, o, NOW, &b, &err), SB_EINVAL);
    assert_int_equal(err.index, 0);
    assert_non_null(strstr(err.message, "unknown field 'kkkk"));
    assert_non_null(strstr(err.message, "...'"));
    assert_true(strlen(err.message) < 100);
}

static void test_json_error_text_is_escaped(void **state)
{
    sb_parsed_batch b;
    sb_parse_error err;

    (void)state;
    /* jansson echoes the offending token; its raw bytes must not reach
     * the message. */
    assert_int_equal(sb__parse_points(S("\xef\xbb\xbf{}"), NOW, &b, &err),
                     SB_EINVAL);
    for (const char *p = err.message; *p != '\0'; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    assert_int_equal(sb__parse_points(S("{\"a\":\x01}"), NOW, &b, &err),
                     SB_EINVAL);
    for (const char *p = err.message; *p != '\0'; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_object_defaults_time_to_now),
        cmocka_unit_test(test_array_parses_every_field),
        cmocka_unit_test(test_special_values_and_big_integers),
        cmocka_unit_test(test_labels_point_into_their_own_sample),
        cmocka_unit_test(test_empty_array_is_an_empty_batch),
        cmocka_unit_test(test_rejects_malformed_and_hostile_bodies),
        cmocka_unit_test(test_batch_size_limit_is_exact),
        cmocka_unit_test(test_deep_nesting_is_rejected_without_crashing),
        cmocka_unit_test(test_label_count_limit_is_exact),
        cmocka_unit_test(test_long_unknown_key_is_truncated_in_message),
        cmocka_unit_test(test_json_error_text_is_escaped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
