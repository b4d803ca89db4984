/*
 * test_json.c - the streaming JSON writer: structure (commas, colons,
 * nesting), string escaping of every special byte, replacement of
 * invalid UTF-8 byte by byte, sticky misuse errors, the buffer cap, and
 * that the output always parses with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "encode/json.h"
#include "scoreboard.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define R "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */

/* Escapes s[0..n) into a fresh buffer b (the caller frees it). */
static void escape_to(sb_buf *b, const char *s, size_t n)
{
    sb__buf_init(b, SIZE_MAX);
    assert_int_equal(sb__json_append_string(b, s, n), SB_OK);
}

/* Parses a JSON string literal with jansson; returns its bytes. */
static json_t *parse_string(const sb_buf *b)
{
    json_error_t err;
    json_t *j =
        json_loadb(b->data, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    if (j == NULL)
        fail_msg("jansson rejects %s: %s", b->data, err.text);
    assert_true(json_is_string(j));
    return j;
}

static void test_json_writer_places_commas_and_colons(void **state)
{
    sb_buf b;
    sb_jw w;

    (void)state;
    sb__buf_init(&b, SIZE_MAX);
    sb__jw_init(&w, &b);
    sb__jw_object_begin(&w);
    sb__jw_key(&w, "a");
    sb__jw_int(&w, 1);
    sb__jw_key(&w, "b");
    sb__jw_array_begin(&w);
    sb__jw_bool(&w, true);
    sb__jw_bool(&w, false);
    sb__jw_null(&w);
    sb__jw_object_begin(&w);
    sb__jw_object_end(&w);
    sb__jw_array_begin(&w);
    sb__jw_array_end(&w);
    sb__jw_string(&w, "s");
    sb__jw_array_end(&w);
    sb__jw_key_n(&w, "cd", 1);
    sb__jw_object_begin(&w);
    sb__jw_key(&w, "x");
    sb__jw_double(&w, 45.2);
    sb__jw_key(&w, "y");
    sb__jw_uint(&w, UINT64_MAX);
    sb__jw_object_end(&w);
    sb__jw_key(&w, "t");
    sb__jw_time(&w, 0);
    sb__jw_key(&w, "n");
    sb__jw_int(&w, INT64_MIN);
    sb__jw_object_end(&w);

    assert_int_equal(sb__jw_error(&w), SB_OK);
    assert_string_equal(b.data, "{\"a\":1,\"b\":[true,false,null,{},[],\"s\"],"
                                "\"c\":{\"x\":45.2,\"y\":18446744073709551615},"
                                "\"t\":\"1970-01-01T00:00:00Z\","
                                "\"n\":-9223372036854775808}");
    assert_int_equal(b.len, strlen(b.data));
    sb__buf_free(&b);
}

static void test_json_writer_top_level_scalars(void **state)
{
    static const char *const want[] = {"\"NaN\"", "\"+Inf\"", "\"-Inf\"", "-0",
                                       "\"\""};
    sb_buf b;
    sb_jw w;
    size_t i;

    (void)state;
    for (i = 0; i < 5; i++) {
        sb__buf_init(&b, SIZE_MAX);
        sb__jw_init(&w, &b);
        if (i == 0)
            sb__jw_double(&w, NAN);
        else if (i == 1)
            sb__jw_double(&w, INFINITY);
        else if (i == 2)
            sb__jw_double(&w, -INFINITY);
        else if (i == 3)
            sb__jw_double(&w, -0.0);
        else
            sb__jw_string(&w, "");
        assert_int_equal(sb__jw_error(&w), SB_OK);
        assert_string_equal(b.data, want[i]);
        sb__buf_free(&b);
    }
}

static void test_json_escapes_every_control_byte(void **state)
{
    static const char *const named[32] = {
        [8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r",
    };
    char want[16];
    sb_buf b;
    int c;

    (void)state;
    for (c = 0; c < 0x20; c++) {
        char in = (char)c;

        if (named[c] != NULL)
            snprintf(want, sizeof want, "\"%s\"", named[c]);
        else
            snprintf(want, sizeof want, "\"\\u00%02x\"", c);
        escape_to(&b, &in, 1);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(b.data, want, b.len);
        sb__buf_free(&b);
    }
}

static void test_json_escapes_quote_backslash_del_and_separators(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\"", "\"\\\"\""},
        {"\\", "\"\\\\\""},
        {"\x7f", "\"\\u007f\""},
        {"/", "\"/\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"\xE2\x80\xA8", "\"\\u2028\""},
        {"\xE2\x80\xA9", "\"\\u2029\""},
        {"x\xE2\x80\xA8y\xE2\x80\xA9z", "\"x\\u2028y\\u2029z\""},
        {"\xE2\x80\xA7\xE2\x80\xAA", "\"\xE2\x80\xA7\xE2\x80\xAA\""},
        {"plain text 123 ~!@#$%^&*()", "\"plain text 123 ~!@#$%^&*()\""},
    };
    sb_buf b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        escape_to(&b, cases[i].in, strlen(cases[i].in));
        assert_string_equal(b.data, cases[i].want);
        sb__buf_free(&b);
    }
}

static void test_json_escapes_embedded_nul(void **state)
{
    sb_buf b;

    (void)state;
    escape_to(&b, "a\0b", 3);
    assert_string_equal(b.data, "\"a\\u0000b\"");
    sb__buf_free(&b);
}

/* Each byte of an ill-formed sequence becomes one U+FFFD. */
static void test_json_replaces_invalid_utf8_per_byte(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* overlong forms */
        {"\xC0\xAF", R R},
        {"\xC1\xBF", R R},
        {"\xC0\x80", R R},
        {"\xE0\x80\xAF", R R R},
        {"\xE0\x9F\xBF", R R R},
        {"\xF0\x80\x80\xAF", R R R R},
        {"\xF0\x8F\xBF\xBF", R R R R},
        /* UTF-16 surrogates encoded in UTF-8 */
        {"\xED\xA0\x80", R R R},
        {"\xED\xAD\xBF", R R R},
        {"\xED\xB0\x80", R R R},
        {"\xED\xBF\xBF", R R R},
        {"\xED\xA0\xBD\xED\xB8\x80", R R R R R R},
        /* above U+10FFFF */
        {"\xF4\x90\x80\x80", R R R R},
        {"\xF7\xBF\xBF\xBF", R R R R},
        {"\xF8\x88\x80\x80\x80", R R R R R},
        {"\xFC\x84\x80\x80\x80\x80", R R R R R R},
        /* bytes that never occur */
        {"\xC0", R},
        {"\xC1", R},
        {"\xF5", R},
        {"\xFE", R},
        {"\xFF", R},
        {"\xFE\xFF", R R},
        /* lone continuation bytes */
        {"\x80", R},
        {"\xBF", R},
        {"a\x80z", "a" R "z"},
        {"\x80\x80\x80", R R R},
        {"\xC3\xA9\xA9", "\xC3\xA9" R},
        /* truncated at the end of the input */
        {"\xC3", R},
        {"\xE2\x82", R R},
        {"\xE2", R},
        {"\xF0\x9F\x98", R R R},
        {"\xF0\x9F", R R},
        {"ok\xF0", "ok" R},
        /* truncated by a following non-continuation byte */
        {"\xE2\x82"
         "A",
         R R "A"},
        {"\xC3"
         "A",
         R "A"},
        {"\xF0\x9F\x98\xC3\xA9", R R R "\xC3\xA9"},
        {"\xE2\x82\xE2\x82\xAC", R R "\xE2\x82\xAC"},
        /* control bytes next to invalid bytes still escape */
        {"\xC3\n", R "\\n"},
    };
    char want[128];
    sb_buf b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j;

        snprintf(want, sizeof want, "\"%s\"", cases[i].want);
        escape_to(&b, cases[i].in, strlen(cases[i].in));
        if (strcmp(b.data, want) != 0)
            fail_msg("case %zu: got %s, want %s", i, b.data, want);
        j = parse_string(&b);
        json_decref(j);
        sb__buf_free(&b);
    }
}

static void test_json_valid_multibyte_passes_through(void **state)
{
    static const char *const cases[] = {
        "\xC2\x80",                             /* U+0080, smallest 2-byte */
        "\xC3\xA9t\xC3\xA9",                    /* été */
        "\xDF\xBF",                             /* U+07FF */
        "\xE0\xA0\x80",                         /* U+0800, smallest 3-byte */
        "\xE2\x82\xAC",                         /* euro sign */
        "\xED\x9F\xBF",                         /* U+D7FF, below surrogates */
        "\xEE\x80\x80",                         /* U+E000, above surrogates */
        "\xEF\xBF\xBD",                         /* U+FFFD itself */
        "\xEF\xBF\xBF",                         /* U+FFFF */
        "\xF0\x90\x80\x80",                     /* U+10000, smallest 4-byte */
        "\xF0\x9F\x98\x80",                     /* emoji */
        "\xF4\x8F\xBF\xBF",                     /* U+10FFFF, the largest */
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", /* Japanese */
    };
    sb_buf b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i]);
        json_t *j;

        escape_to(&b, cases[i], n);
        assert_int_equal(b.len, n + 2);
        assert_memory_equal(b.data + 1, cases[i], n);
        j = parse_string(&b);
        assert_int_equal(json_string_length(j), n);
        assert_memory_equal(json_string_value(j), cases[i], n);
        json_decref(j);
        sb__buf_free(&b);
    }
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t xorshift64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/*
 * Whether s[0..n) is well-formed UTF-8, judged by jansson's own decoder
 * on a raw JSON string (ASCII bytes that cannot appear raw are swapped
 * for 'a' first; that does not change UTF-8 validity).
 */
static bool jansson_says_valid_utf8(const unsigned char *s, size_t n)
{
    char raw[80];
    json_t *j;
    size_t i;

    raw[0] = '"';
    for (i = 0; i < n; i++) {
        bool special = s[i] < 0x20 || s[i] == '"' || s[i] == '\\';

        raw[i + 1] = special ? 'a' : (char)s[i];
    }
    raw[n + 1] = '"';
    j = json_loadb(raw, n + 2, JSON_DECODE_ANY, NULL);
    json_decref(j);
    return j != NULL;
}

/* Random byte strings, biased towards UTF-8 lead and continuation bytes:
 * the output always parses, and reads back as the input when the input
 * was valid UTF-8. */
static void test_json_random_bytes_always_parse(void **state)
{
    static const unsigned char pool[] = {
        0x00, 0x1F, '"',  '\\', 'a',  0x7F, 0x80, 0x8F, 0x90, 0x9F,
        0xA0, 0xA8, 0xA9, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE2, 0xED,
        0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x80, 0x80, 0xBF, 0xE2, 0x80,
    };
    unsigned char in[32];
    sb_buf b;
    int i, valid = 0;

    (void)state;
    for (i = 0; i < 100000; i++) {
        size_t n = (size_t)(xorshift64() % 12), k;
        json_t *j;

        for (k = 0; k < n; k++)
            in[k] = pool[xorshift64() % sizeof pool];
        escape_to(&b, (const char *)in, n);
        j = parse_string(&b);
        if (jansson_says_valid_utf8(in, n)) {
            valid++;
            assert_int_equal(json_string_length(j), n);
            assert_memory_equal(json_string_value(j), in, n);
        }
        json_decref(j);
        sb__buf_free(&b);
    }
    assert_true(valid > 1000);
}

/* Strings on both sides of the single-pass length limit (1024 bytes),
 * full of bytes that need escaping, read back exactly. */
static void test_json_long_strings_escape_exactly(void **state)
{
    static const char *const pieces[] = {
        "\"", "\\", "\n", "\x01", "\xC3\xA9", "a", "\xE2\x80\xA8"};
    static const size_t lens[] = {1, 10, 1000, 1023, 1024, 1025, 1030, 5000};
    char in[5100];
    sb_buf b;

    (void)state;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = 0;
        json_t *j;

        while (n < lens[li]) {
            const char *p = pieces[xorshift64() % 7];
            size_t pl = strlen(p);

            if (n + pl > lens[li]) {
                p = "a";
                pl = 1;
            }
            memcpy(in + n, p, pl);
            n += pl;
        }
        escape_to(&b, in, n);
        j = parse_string(&b);
        assert_int_equal(json_string_length(j), n);
        assert_memory_equal(json_string_value(j), in, n);
        json_decref(j);
        sb__buf_free(&b);
    }
}

/* Runs one misuse scenario; the error must be SB_EINVAL and stick. */
static void expect_misuse(void (*scenario)(sb_jw *w))
{
    sb_buf b;
    sb_jw w;
    size_t len;

    sb__buf_init(&b, SIZE_MAX);
    sb__jw_init(&w, &b);
    scenario(&w);
    assert_int_equal(sb__jw_error(&w), SB_EINVAL);
    len = b.len;
    sb__jw_int(&w, 1);
    sb__jw_string(&w, "x");
    sb__jw_array_begin(&w);
    sb__jw_object_end(&w);
    assert_int_equal(sb__jw_error(&w), SB_EINVAL);
    assert_int_equal(b.len, len);
    sb__buf_free(&b);
}

static void value_where_key_due(sb_jw *w)
{
    sb__jw_object_begin(w);
    sb__jw_int(w, 1);
}

static void key_in_array(sb_jw *w)
{
    sb__jw_array_begin(w);
    sb__jw_key(w, "k");
}

static void key_at_top(sb_jw *w)
{
    sb__jw_key(w, "k");
}

static void two_keys_in_a_row(sb_jw *w)
{
    sb__jw_object_begin(w);
    sb__jw_key(w, "a");
    sb__jw_key(w, "b");
}

static void end_with_key_pending(sb_jw *w)
{
    sb__jw_object_begin(w);
    sb__jw_key(w, "a");
    sb__jw_object_end(w);
}

static void end_without_begin(sb_jw *w)
{
    sb__jw_array_end(w);
}

static void unbalanced_end(sb_jw *w)
{
    sb__jw_array_begin(w);
    sb__jw_array_end(w);
    sb__jw_array_end(w);
}

static void mismatched_end(sb_jw *w)
{
    sb__jw_array_begin(w);
    sb__jw_object_end(w);
}

static void second_top_level_value(sb_jw *w)
{
    sb__jw_int(w, 1);
    sb__jw_int(w, 2);
}

static void too_deep(sb_jw *w)
{
    int i;

    for (i = 0; i <= SB_JW_MAX_DEPTH; i++)
        sb__jw_array_begin(w);
}

static void null_string(sb_jw *w)
{
    sb__jw_string(w, NULL);
}

static void test_json_misuse_is_a_sticky_error(void **state)
{
    (void)state;
    expect_misuse(value_where_key_due);
    expect_misuse(key_in_array);
    expect_misuse(key_at_top);
    expect_misuse(two_keys_in_a_row);
    expect_misuse(end_with_key_pending);
    expect_misuse(end_without_begin);
    expect_misuse(unbalanced_end);
    expect_misuse(mismatched_end);
    expect_misuse(second_top_level_value);
    expect_misuse(too_deep);
    expect_misuse(null_string);
}

static void test_json_max_depth_is_usable(void **state)
{
    sb_buf b;
    sb_jw w;
    int i;

    (void)state;
    sb__buf_init(&b, SIZE_MAX);
    sb__jw_init(&w, &b);
    for (i = 0; i < SB_JW_MAX_DEPTH; i++)
        sb__jw_array_begin(&w);
    for (i = 0; i < SB_JW_MAX_DEPTH; i++)
        sb__jw_array_end(&w);
    assert_int_equal(sb__jw_error(&w), SB_OK);
    assert_int_equal(b.len, 2 * SB_JW_MAX_DEPTH);
    sb__buf_free(&b);
}

static void test_json_buffer_cap_gives_toolarge(void **state)
{
    sb_buf b;
    sb_jw w;

    (void)state;
    sb__buf_init(&b, 10);
    sb__jw_init(&w, &b);
    sb__jw_array_begin(&w);
    sb__jw_string(&w, "abcdef"); /* [ + 8 bytes = 9 */
    assert_int_equal(sb__jw_error(&w), SB_OK);
    sb__jw_string(&w, "x"); /* a comma and 3 more: over 10 */
    assert_int_equal(sb__jw_error(&w), SB_ETOOLARGE);
    sb__jw_array_end(&w);
    assert_int_equal(sb__jw_error(&w), SB_ETOOLARGE);
    assert_true(b.len <= 10);
    sb__buf_free(&b);
}

/* A string either fits whole or leaves the buffer as it was. */
static void test_json_append_string_is_all_or_nothing(void **state)
{
    sb_buf b;

    (void)state;
    sb__buf_init(&b, 8);
    assert_int_equal(sb__json_append_string(&b, "ab", 2), SB_OK);
    assert_int_equal(sb__json_append_string(&b, "\n\n", 2), SB_ETOOLARGE);
    assert_string_equal(b.data, "\"ab\"");
    assert_int_equal(sb__json_append_string(&b, "\n", 1), SB_OK);
    assert_string_equal(b.data, "\"ab\"\"\\n\"");
    assert_int_equal(sb__json_append_string(&b, "", 0), SB_ETOOLARGE);
    assert_int_equal(b.len, 8);
    sb__buf_free(&b);

    sb__buf_init(&b, SIZE_MAX);
    assert_int_equal(sb__json_append_string(&b, NULL, 1), SB_EINVAL);
    assert_int_equal(sb__json_append_string(&b, NULL, 0), SB_OK);
    assert_string_equal(b.data, "\"\"");
    sb__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_writer_places_commas_and_colons),
        cmocka_unit_test(test_json_writer_top_level_scalars),
        cmocka_unit_test(test_json_escapes_every_control_byte),
        cmocka_unit_test(test_json_escapes_quote_backslash_del_and_separators),
        cmocka_unit_test(test_json_escapes_embedded_nul),
        cmocka_unit_test(test_json_replaces_invalid_utf8_per_byte),
        cmocka_unit_test(test_json_valid_multibyte_passes_through),
        cmocka_unit_test(test_json_random_bytes_always_parse),
        cmocka_unit_test(test_json_long_strings_escape_exactly),
        cmocka_unit_test(test_json_misuse_is_a_sticky_error),
        cmocka_unit_test(test_json_max_depth_is_usable),
        cmocka_unit_test(test_json_buffer_cap_gives_toolarge),
        cmocka_unit_test(test_json_append_string_is_all_or_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
