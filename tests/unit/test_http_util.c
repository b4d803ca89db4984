/*
 * test_http_util.c - the pure pieces of the HTTP layer: listen-address
 * parsing, Accept-Encoding, CORS origin and requested-header matching,
 * Content-Encoding, route and method lookup, and gzip output checked by
 * inflating it with zlib.
 *
 * Parsers get table-driven must-accept and must-reject cases; header
 * values are hostile input, so the tables include broken syntax, control
 * bytes and very long values (which must terminate and refuse).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------- listen parse */

typedef struct listen_ok {
    const char *in;
    const char *host;
    uint16_t port;
    bool bracketed;
} listen_ok;

static void test_listen_parse_accepts_host_port_forms(void **state)
{
    static const listen_ok cases[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080, false},
        {"localhost:0", "localhost", 0, false},
        {"0.0.0.0:65535", "0.0.0.0", 65535, false},
        {"example.com:00080", "example.com", 80, false},
        {"[::1]:9000", "::1", 9000, true},
        {"[::]:1", "::", 1, true},
        {"[fe80::1%eth0]:80", "fe80::1%eth0", 80, true},
        {"[2001:db8::a:b]:443", "2001:db8::a:b", 443, true},
    };
    char host[SB_LISTEN_HOST_MAX + 1];

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        const char *reason = "unset";
        uint16_t port = 1234;
        bool br = !cases[i].bracketed;
        int rc = sb__listen_parse(cases[i].in, host, sizeof host, &port, &br,
                                  &reason);

        if (rc != 0)
            fail_msg("case %zu (%s): rc %d (%s)", i, cases[i].in, rc, reason);
        assert_string_equal(host, cases[i].host);
        assert_int_equal(port, cases[i].port);
        assert_int_equal(br, cases[i].bracketed);
        assert_null(reason);
    }
}

static void test_listen_parse_rejects_malformed_addresses(void **state)
{
    static const char *const cases[] = {
        "",
        "127.0.0.1",
        "127.0.0.1:",
        ":8080",
        "::1:8080",
        "[::1]",
        "[::1]8080",
        "[::1",
        "[]:80",
        "[127.0.0.1]:80",
        "host:65536",
        "host:99999",
        "host:123456",
        "host:-1",
        "host:+80",
        "host: 80",
        "host:80 ",
        "host:0x50",
        "host:1e3",
        "host:8o",
        "bad host:80",
        "tab\thost:80",
        "ctl\x01:80",
        "h\x7f:80",
        "a/b:80",
        "[::1]:80]",
        "[[::1]]:80",
        "\xc3\xa9:80",
    };
    char host[SB_LISTEN_HOST_MAX + 1];

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        const char *reason = NULL;
        uint16_t port = 0;
        bool br = false;
        int rc =
            sb__listen_parse(cases[i], host, sizeof host, &port, &br, &reason);

        if (rc != SB_EADDR)
            fail_msg("case %zu (%s): accepted", i, cases[i]);
        assert_non_null(reason);
    }
}

static void test_listen_parse_rejects_null_and_long_host(void **state)
{
    char host[SB_LISTEN_HOST_MAX + 1], in[600];
    const char *reason = NULL;
    uint16_t port;
    bool br;

    (void)state;
    assert_int_equal(
        sb__listen_parse(NULL, host, sizeof host, &port, &br, &reason),
        SB_EADDR);

    memset(in, 'a', SB_LISTEN_HOST_MAX);
    snprintf(in + SB_LISTEN_HOST_MAX, sizeof in - SB_LISTEN_HOST_MAX, ":80");
    assert_int_equal(
        sb__listen_parse(in, host, sizeof host, &port, &br, &reason), 0);
    assert_int_equal(strlen(host), SB_LISTEN_HOST_MAX);

    memset(in, 'a', SB_LISTEN_HOST_MAX + 1);
    snprintf(in + SB_LISTEN_HOST_MAX + 1, sizeof in - SB_LISTEN_HOST_MAX - 1,
             ":80");
    assert_int_equal(
        sb__listen_parse(in, host, sizeof host, &port, &br, &reason), SB_EADDR);
    assert_string_equal(reason, "host too long");

    /* a caller buffer smaller than the host is refused, not overrun */
    char small[4];
    assert_int_equal(
        sb__listen_parse("abcd:80", small, sizeof small, &port, &br, &reason),
        SB_EADDR);
}

/* ---------------------------------------------------- Accept-Encoding */

typedef struct ae_case {
    const char *header;
    bool gzip;
} ae_case;

static void test_accept_encoding_honours_tokens_and_qvalues(void **state)
{
    static const ae_case cases[] = {
        {NULL, false},
        {"", false},
        {"gzip", true},
        {"GZip", true},
        {"x-gzip", true},
        {"deflate, gzip", true},
        {"deflate,gzip;q=0.5", true},
        {"gzip;q=1", true},
        {"gzip;q=1.000", true},
        {"gzip; q=0.001", true},
        {"gzip;level=9", true},
        {"gzip;level=\"a;b,c\";q=0.3", true},
        {",, gzip ,,", true},
        {"identity", false},
        {"deflate, br", false},
        {"gzipx", false},
        {"xgzip", false},
        {"\"gzip\"", false},
        {"gzip;q=0", false},
        {"gzip;q=0.", false},
        {"gzip;q=0.000", false},
        {"gzip;Q=0", false},
        {"gzip;q=0.5;q=0", false},
        {"*", true},
        {"br, *;q=0.1", true},
        {"*;q=0", false},
        {"gzip;q=0, *", false},
        {"*, gzip;q=0", false},
        {"gzip;q=0, gzip", true},
        /* broken elements never count as acceptance */
        {"gzip;q=1.5", false},
        {"gzip;q=1.0001", false},
        {"gzip;q=2", false},
        {"gzip;q=-1", false},
        {"gzip;q=abc", false},
        {"gzip;q=", false},
        {"gzip;q", false},
        {"gzip;=1", false},
        {"gzip;q=\"0.5\"", false},
        {"gzip;x=\"unterminated", false},
        {"gzip junk", false},
        {"gzip\x01", false},
        {"*;q=0.5x", false},
    };

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        if (sb__accepts_gzip(cases[i].header) != cases[i].gzip)
            fail_msg("case %zu (%s): expected %d", i,
                     cases[i].header ? cases[i].header : "NULL", cases[i].gzip);
    }
}

static void test_accept_encoding_long_hostile_value_terminates(void **state)
{
    size_t n = 200000;
    char *h = malloc(n + 16);

    (void)state;
    assert_non_null(h);
    for (size_t i = 0; i < n; i += 2) {
        h[i] = (i % 6 == 0) ? ';' : 'a';
        h[i + 1] = (i % 10 == 0) ? '"' : ',';
    }
    h[n] = '\0';
    assert_false(sb__accepts_gzip(h));
    memcpy(h + n, ",gzip", 6);
    /* the noise ends in ',' so the last element is found after it */
    assert_int_equal(h[n - 1], ',');
    assert_true(sb__accepts_gzip(h));
    free(h);
}

/* ---------------------------------------------------------------- CORS */

static void test_cors_origin_matches_exactly_or_star(void **state)
{
    static const char *const list[] = {"https://a.example",
                                       "http://localhost:3000"};
    static const char *const star[] = {"https://a.example", "*"};
    static const char *const with_null[] = {NULL, "", "https://b.example"};

    (void)state;
    assert_string_equal(sb__cors_allow_origin(list, 2, "https://a.example"),
                        "https://a.example");
    assert_string_equal(sb__cors_allow_origin(list, 2, "http://localhost:3000"),
                        "http://localhost:3000");
    assert_null(sb__cors_allow_origin(list, 2, "https://a.example/"));
    assert_null(sb__cors_allow_origin(list, 2, "https://a.example.evil"));
    assert_null(sb__cors_allow_origin(list, 2, "https://A.example"));
    assert_null(sb__cors_allow_origin(list, 2, "http://localhost:30001"));
    assert_null(sb__cors_allow_origin(list, 2, "null"));
    assert_null(sb__cors_allow_origin(list, 2, ""));
    assert_null(sb__cors_allow_origin(list, 2, NULL));
    assert_null(sb__cors_allow_origin(list, 0, "https://a.example"));

    assert_string_equal(sb__cors_allow_origin(star, 2, "http://x"), "*");
    assert_string_equal(sb__cors_allow_origin(star, 2, "https://a.example"),
                        "https://a.example");
    assert_null(sb__cors_allow_origin(star, 2, NULL));

    assert_string_equal(
        sb__cors_allow_origin(with_null, 3, "https://b.example"),
        "https://b.example");
    assert_null(sb__cors_allow_origin(with_null, 3, "x"));
}

typedef struct hdr_case {
    const char *value;
    bool ok;
} hdr_case;

static void test_cors_requested_headers_are_validated(void **state)
{
    static const hdr_case cases[] = {
        {NULL, true},
        {"", true},
        {"content-type", true},
        {"Content-Type", true},
        {"accept", true},
        {"Accept-Encoding", true},
        {"content-type,accept", true},
        {" content-type , accept-encoding ", true},
        {",,accept,,", true},
        {"x-evil", false},
        {"content-type, x-evil", false},
        {"content-type x", false},
        {"content-type;", false},
        {"content-typex", false},
        {"\"accept\"", false},
        {"accept\r\nx: y", false},
        {"authorization", false},
        {"cookie", false},
    };

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        if (sb__cors_headers_ok(cases[i].value) != cases[i].ok)
            fail_msg("case %zu (%s): expected %d", i,
                     cases[i].value ? cases[i].value : "NULL", cases[i].ok);
    }
}

/* ----------------------------------------------------- Content-Encoding */

static void test_content_encoding_only_identity_passes(void **state)
{
    static const hdr_case cases[] = {
        {NULL, true},
        {"", true},
        {"identity", true},
        {"IDENTITY", true},
        {" identity ", true},
        {"identity, identity", true},
        {"gzip", false},
        {"identity, gzip", false},
        {"deflate", false},
        {"identityx", false},
        {"identity;q=1", false},
        {"br", false},
    };

    (void)state;
    for (size_t i = 0; i < NCASES(cases); i++) {
        if (sb__identity_encoding(cases[i].value) != cases[i].ok)
            fail_msg("case %zu (%s): expected %d", i,
                     cases[i].value ? cases[i].value : "NULL", cases[i].ok);
    }
}

/* ------------------------------------------------------ route, method */

static void test_routes_match_exact_raw_paths(void **state)
{
    (void)state;
    assert_int_equal(sb__route_lookup("/metrics", 8), SB_ROUTE_METRICS);
    assert_int_equal(sb__route_lookup("/api/v1/series", 14), SB_ROUTE_SERIES);
    assert_int_equal(sb__route_lookup("/healthz", 8), SB_ROUTE_HEALTHZ);
    assert_int_equal(sb__route_lookup("/metrics/", 9), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("/metrics", 7), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("/Metrics", 8), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("/metric%73", 10), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("//metrics", 9), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("", 0), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("unmatched", 9), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("/healthz\0x", 10), SB_ROUTE_UNMATCHED);
    assert_string_equal(sb__route_names[SB_ROUTE_UNMATCHED], "unmatched");
}

static void test_methods_are_case_sensitive_with_other(void **state)
{
    (void)state;
    assert_int_equal(sb__method_lookup("GET"), SB_METHOD_GET);
    assert_int_equal(sb__method_lookup("HEAD"), SB_METHOD_HEAD);
    assert_int_equal(sb__method_lookup("POST"), SB_METHOD_POST);
    assert_int_equal(sb__method_lookup("OPTIONS"), SB_METHOD_OPTIONS);
    assert_int_equal(sb__method_lookup("get"), SB_METHOD_OTHER);
    assert_int_equal(sb__method_lookup("PUT"), SB_METHOD_OTHER);
    assert_int_equal(sb__method_lookup("GETX"), SB_METHOD_OTHER);
    assert_int_equal(sb__method_lookup(""), SB_METHOD_OTHER);
    assert_int_equal(sb__method_lookup(NULL), SB_METHOD_OTHER);
    assert_string_equal(sb__method_names[SB_METHOD_OTHER], "OTHER");
}

/* ---------------------------------------------------------------- gzip */

/* Inflates a gzip stream (windowBits 31 accepts only gzip framing). */
static unsigned char *gunzip(const sb_buf *z, size_t *out_len)
{
    size_t cap = 1024, len = 0;
    unsigned char *out = malloc(cap);
    z_stream s;
    int rc;

    assert_non_null(out);
    memset(&s, 0, sizeof s);
    assert_int_equal(inflateInit2(&s, 31), Z_OK);
    s.next_in = (const Bytef *)z->data;
    s.avail_in = (uInt)z->len;
    do {
        if (len == cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        s.next_out = out + len;
        s.avail_out = (uInt)(cap - len);
        rc = inflate(&s, Z_NO_FLUSH);
        len = cap - s.avail_out;
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
    } while (rc != Z_STREAM_END);
    assert_int_equal(s.avail_in, 0); /* nothing after the trailer */
    inflateEnd(&s);
    *out_len = len;
    return out;
}

/* Deterministic JSON-ish text with some incompressible bytes mixed in. */
static char *sample_data(size_t n)
{
    char *d = malloc(n ? n : 1);
    uint32_t x = 12345;

    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        d[i] = (i % 7 == 0) ? (char)(x >> 24) : "{\"name\":1},"[i % 11];
    }
    return d;
}

static void test_gzip_one_shot_round_trips(void **state)
{
    static const size_t sizes[] = {0, 1, 1023, 1024, 70000, 3u << 20};

    (void)state;
    for (size_t i = 0; i < NCASES(sizes); i++) {
        char *d = sample_data(sizes[i]);
        unsigned char *back;
        size_t back_len;
        sb_buf z;

        sb__buf_init(&z, SIZE_MAX);
        assert_int_equal(sb__gzip_all(d, sizes[i], &z), 0);
        assert_true(z.len >= 18); /* header + trailer at least */
        assert_int_equal((unsigned char)z.data[0], 0x1f);
        assert_int_equal((unsigned char)z.data[1], 0x8b);
        assert_int_equal(z.data[z.len], '\0');
        back = gunzip(&z, &back_len);
        assert_int_equal(back_len, sizes[i]);
        assert_memory_equal(back, d, sizes[i]);
        free(back);
        free(d);
        sb__buf_free(&z);
    }
}

static void test_gzip_streamed_pieces_form_one_stream(void **state)
{
    size_t n = 500000, off = 0, piece = 1;
    char *d = sample_data(n);
    unsigned char *back;
    size_t back_len;
    sb_gzip g;
    sb_buf z;

    (void)state;
    sb__buf_init(&z, SIZE_MAX);
    assert_int_equal(sb__gzip_init(&g), 0);
    while (off < n) { /* pieces of growing size, some empty */
        size_t take = n - off < piece ? n - off : piece;

        assert_int_equal(sb__gzip_write(&g, d + off, take, false, &z), 0);
        assert_int_equal(sb__gzip_write(&g, d, 0, false, &z), 0);
        off += take;
        piece = piece * 3 + 1;
    }
    assert_int_equal(sb__gzip_write(&g, NULL, 0, true, &z), 0);
    sb__gzip_end(&g);
    sb__gzip_end(&g); /* idempotent */

    back = gunzip(&z, &back_len);
    assert_int_equal(back_len, n);
    assert_memory_equal(back, d, n);
    assert_true(z.len < n / 2); /* it did compress */
    free(back);
    free(d);
    sb__buf_free(&z);
}

static void test_gzip_respects_output_cap(void **state)
{
    char *d = sample_data(100000);
    sb_buf z;

    (void)state;
    sb__buf_init(&z, 1000);
    assert_int_equal(sb__gzip_all(d, 100000, &z), SB_ETOOLARGE);
    assert_true(z.len <= 1000);
    sb__buf_free(&z);
    free(d);
}

static void test_gzip_write_after_end_is_refused(void **state)
{
    sb_gzip g;
    sb_buf z;

    (void)state;
    sb__buf_init(&z, SIZE_MAX);
    assert_int_equal(sb__gzip_init(&g), 0);
    sb__gzip_end(&g);
    assert_int_equal(sb__gzip_write(&g, "x", 1, true, &z), SB_EINVAL);
    assert_int_equal(z.len, 0);
    sb__buf_free(&z);
}

/* ------------------------------------------------- Accept (formats) */

typedef struct format_case {
    const char *accept;
    int format;
} format_case;

static void test_accept_selects_prometheus_only_when_preferred(void **state)
{
    static const format_case cases[] = {
        {NULL, SB_FORMAT_JSON},
        {"", SB_FORMAT_JSON},
        {"text/plain", SB_FORMAT_PROM},
        {"TEXT/Plain", SB_FORMAT_PROM},
        {"application/openmetrics-text; version=1.0.0", SB_FORMAT_PROM},
        {"text/plain;version=0.0.4;q=0.5, application/json", SB_FORMAT_JSON},
        {"application/json;q=0.5, text/plain;version=0.0.4", SB_FORMAT_PROM},
        {"application/json, text/plain", SB_FORMAT_JSON},
        {"*/*", SB_FORMAT_JSON},
        {"*/*;q=0.1, text/plain;q=0.2", SB_FORMAT_PROM},
        {"text/*", SB_FORMAT_PROM},
        {"application/*, text/*", SB_FORMAT_JSON},
        {"application/json;q=0, */*", SB_FORMAT_PROM},
        {"text/plain;q=0, */*", SB_FORMAT_JSON},
        {"text/plain;q=0.001, application/json;q=0", SB_FORMAT_PROM},
        {"text/plain;q=1.5", SB_FORMAT_JSON}, /* broken element ignored */
        {"text/plain;q=0.5x", SB_FORMAT_JSON},
        {"text/plain;foo=\"a,b\";q=0.9, application/json;q=0.8",
         SB_FORMAT_PROM},
        {"text, plain", SB_FORMAT_JSON},
        {"/plain", SB_FORMAT_JSON},
        {"text/", SB_FORMAT_JSON},
        {",,,text/plain,,,", SB_FORMAT_PROM},
        {"image/png", SB_FORMAT_JSON},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (sb__negotiate_format(cases[i].accept) != cases[i].format)
            fail_msg("case %zu: '%s'", i,
                     cases[i].accept ? cases[i].accept : "(null)");
    }
}

static void test_accept_long_hostile_value_terminates(void **state)
{
    static char h[64 * 1024];

    (void)state;
    for (size_t i = 0; i + 1 < sizeof h; i++)
        h[i] = ";,/=\"q"[i % 6];
    h[sizeof h - 1] = '\0';
    assert_int_equal(sb__negotiate_format(h), SB_FORMAT_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_parse_accepts_host_port_forms),
        cmocka_unit_test(test_listen_parse_rejects_malformed_addresses),
        cmocka_unit_test(test_listen_parse_rejects_null_and_long_host),
        cmocka_unit_test(test_accept_encoding_honours_tokens_and_qvalues),
        cmocka_unit_test(test_accept_encoding_long_hostile_value_terminates),
        cmocka_unit_test(test_cors_origin_matches_exactly_or_star),
        cmocka_unit_test(test_cors_requested_headers_are_validated),
        cmocka_unit_test(test_content_encoding_only_identity_passes),
        cmocka_unit_test(test_routes_match_exact_raw_paths),
        cmocka_unit_test(test_methods_are_case_sensitive_with_other),
        cmocka_unit_test(test_gzip_one_shot_round_trips),
        cmocka_unit_test(test_gzip_streamed_pieces_form_one_stream),
        cmocka_unit_test(test_gzip_respects_output_cap),
        cmocka_unit_test(test_gzip_write_after_end_is_refused),
        cmocka_unit_test(test_accept_selects_prometheus_only_when_preferred),
        cmocka_unit_test(test_accept_long_hostile_value_terminates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
