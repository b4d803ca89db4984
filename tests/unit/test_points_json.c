/*
 * test_points_json.c - the GET /metrics and GET /api/v1/series bodies,
 * encoded from sb_result structs built by hand (no store involved): exact
 * bytes, escaping, non-finite values, chunking at any target size giving
 * the same bytes, error paths, and parsing with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeparse.h"
#include "encode/json.h"
#include "encode/points_json.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 (1796322133LL * 1000000000LL + 120000000) /* ...18:22:13.12Z */

static sb_label disk_labels[] = {
    {"dev", "sda"},
    {"k\"ey", "v\\al\n\xC3\xA9\xE2\x80\xA8"},
};

static sb_result_series two_series[] = {
    {"cpu", 3, NULL, 0, 3, T0, T0 + 2000000000},
    {"disk", 4, disk_labels, 2, 0, 0, 0},
};

static sb_result_point six_points[] = {
    {T0, 45.2, 0},
    {T0, NAN, 1},
    {T0 + 1000000000, INFINITY, 1},
    {T0 + 1000000000, -INFINITY, 0},
    {T0 + 2000000000, -0.0, 0},
    {-1, 1e21, 1},
};

#define CPU "{\"name\":\"cpu\","
#define DISK                                                                   \
    "{\"name\":\"disk\",\"labels\":{\"dev\":\"sda\","                          \
    "\"k\\\"ey\":\"v\\\\al\\n\xC3\xA9\\u2028\"},"

/* The rest of one point after its series prefix. */
#define VT(value, time) "\"value\":" value ",\"time\":\"" time "\"}"

/* clang-format off */
static const char six_points_json[] =
    "["
    CPU VT("45.2", "2026-12-03T18:22:13.12Z") ","
    DISK VT("\"NaN\"", "2026-12-03T18:22:13.12Z") ","
    DISK VT("\"+Inf\"", "2026-12-03T18:22:14.12Z") ","
    CPU VT("\"-Inf\"", "2026-12-03T18:22:14.12Z") ","
    CPU VT("-0", "2026-12-03T18:22:15.12Z") ","
    DISK VT("1e+21", "1969-12-31T23:59:59.999999999Z")
    "]";
/* clang-format on */

static sb_result make_result(sb_result_series *series, size_t nseries,
                             sb_result_point *points, size_t npoints)
{
    sb_result r;

    memset(&r, 0, sizeof r);
    r.series = series;
    r.nseries = nseries;
    r.points = points;
    r.npoints = npoints;
    return r;
}

/* Encodes the whole body with one call and a huge target. */
static void encode_all(const sb_result *res, sb_buf *out)
{
    sb_points_enc e;

    sb__buf_init(out, SIZE_MAX);
    assert_int_equal(sb__points_enc_init(&e, res), 0);
    assert_int_equal(sb__points_enc_fill(&e, out, SIZE_MAX), 0);
    assert_int_equal(sb__points_enc_fill(&e, out, SIZE_MAX), 0);
    sb__points_enc_free(&e);
}

/*
 * Encodes in chunks of about target bytes the way the HTTP layer does
 * (each chunk sent, then the buffer emptied) and returns the number of
 * calls that produced output.
 */
static size_t encode_chunked(const sb_result *res, size_t target, sb_buf *total)
{
    sb_points_enc e;
    sb_buf chunk;
    size_t calls = 0;
    int rc;

    sb__buf_init(total, SIZE_MAX);
    sb__buf_init(&chunk, SIZE_MAX);
    assert_int_equal(sb__points_enc_init(&e, res), 0);
    do {
        sb__buf_reset(&chunk);
        rc = sb__points_enc_fill(&e, &chunk, target);
        assert_true(rc == 0 || rc == 1);
        assert_true(chunk.len > 0);
        assert_int_equal(sb__buf_append(total, chunk.data, chunk.len), 0);
        calls++;
        assert_true(calls <= res->npoints + 2);
    } while (rc == 1);
    sb__buf_free(&chunk);
    sb__points_enc_free(&e);
    return calls;
}

static json_t *parse(const sb_buf *b)
{
    json_error_t err;
    json_t *j = json_loadb(b->data, b->len, JSON_DECODE_INT_AS_REAL, &err);

    if (j == NULL)
        fail_msg("jansson rejects the body: %s at %d", err.text, err.position);
    return j;
}

static void test_points_json_exact_bytes(void **state)
{
    sb_result r = make_result(two_series, 2, six_points, 6);
    sb_buf out;

    (void)state;
    encode_all(&r, &out);
    assert_string_equal(out.data, six_points_json);
    assert_int_equal(out.len, strlen(six_points_json));
    sb__buf_free(&out);
}

static void test_points_json_empty_result_is_empty_array(void **state)
{
    sb_result none = make_result(NULL, 0, NULL, 0);
    sb_result no_points = make_result(two_series, 2, NULL, 0);
    sb_buf out;

    (void)state;
    encode_all(&none, &out);
    assert_string_equal(out.data, "[]");
    sb__buf_free(&out);

    encode_all(&no_points, &out);
    assert_string_equal(out.data, "[]");
    sb__buf_free(&out);

    assert_int_equal(encode_chunked(&none, 1, &out), 2);
    assert_string_equal(out.data, "[]");
    sb__buf_free(&out);
}

static void test_points_json_chunks_concatenate_to_same_bytes(void **state)
{
    sb_result r = make_result(two_series, 2, six_points, 6);
    sb_buf out;
    size_t target;

    (void)state;
    /* Target 1: '[', one call per point, then ']'. */
    assert_int_equal(encode_chunked(&r, 1, &out), 8);
    assert_string_equal(out.data, six_points_json);
    sb__buf_free(&out);

    for (target = 0; target < sizeof six_points_json + 10; target += 7) {
        encode_chunked(&r, target, &out);
        assert_string_equal(out.data, six_points_json);
        sb__buf_free(&out);
    }
}

/* Target reached exactly at the last point: ']' comes in its own call. */
static void test_points_json_fill_after_done_is_a_no_op(void **state)
{
    sb_result r = make_result(two_series, 2, six_points, 1);
    sb_points_enc e;
    sb_buf out;

    (void)state;
    sb__buf_init(&out, SIZE_MAX);
    assert_int_equal(sb__points_enc_init(&e, &r), 0);
    assert_int_equal(sb__points_enc_fill(&e, &out, 2), 1);
    assert_int_equal(sb__points_enc_fill(&e, &out, 2), 0);
    assert_int_equal(sb__points_enc_fill(&e, &out, 2), 0);
    assert_int_equal(out.data[out.len - 1], ']');
    assert_int_equal(out.data[out.len - 2], '}');
    sb__points_enc_free(&e);
    sb__buf_free(&out);
}

static void test_points_json_errors(void **state)
{
    sb_result_point bad_point = {0, 1.0, 2}; /* series 2 of 2 */
    sb_result bad = make_result(two_series, 2, &bad_point, 1);
    sb_result r = make_result(two_series, 2, six_points, 6);
    sb_points_enc e;
    sb_buf out;

    (void)state;
    assert_int_equal(sb__points_enc_init(&e, NULL), SB_EINVAL);

    sb__buf_init(&out, SIZE_MAX);
    assert_int_equal(sb__points_enc_init(&e, &bad), 0);
    assert_int_equal(sb__points_enc_fill(&e, &out, SIZE_MAX), SB_EINVAL);
    sb__points_enc_free(&e);
    sb__buf_free(&out);

    /* A capped buffer refuses; after emptying it the encoder resumes
     * where it stopped. */
    sb__buf_init(&out, 20);
    assert_int_equal(sb__points_enc_init(&e, &r), 0);
    assert_int_equal(sb__points_enc_fill(&e, &out, SIZE_MAX), SB_ETOOLARGE);
    assert_string_equal(out.data, "[");
    sb__buf_free(&out);
    sb__buf_init(&out, SIZE_MAX);
    assert_int_equal(sb__points_enc_fill(&e, &out, SIZE_MAX), 0);
    assert_string_equal(out.data, six_points_json + 1);
    sb__points_enc_free(&e);
    sb__points_enc_free(&e); /* a second free is harmless */
    sb__buf_free(&out);
}

/* Many points with varied values: jansson reads back every value bit for
 * bit and every field as written. */
static void test_points_json_parses_with_jansson(void **state)
{
    enum { N = 5000 };
    sb_result_point *pts = calloc(N, sizeof *pts);
    sb_result r;
    uint64_t x = 0x243F6A8885A308D3ULL;
    char want_time[SB_RFC3339_MAX + 1];
    sb_buf out;
    json_t *root;
    size_t i;

    (void)state;
    assert_non_null(pts);
    for (i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pts[i].time_ns = (int64_t)x;
        pts[i].series = (uint32_t)(x % 2);
        pts[i].value =
            i % 3 == 0 ? (double)(x % 100000) / 100 : (double)(int64_t)x / 3e7;
    }
    r = make_result(two_series, 2, pts, N);
    encode_chunked(&r, 4096, &out);
    root = parse(&out);
    assert_true(json_is_array(root));
    assert_int_equal(json_array_size(root), N);
    for (i = 0; i < N; i++) {
        json_t *p = json_array_get(root, i);
        json_t *labels = json_object_get(p, "labels");
        double v = json_number_value(json_object_get(p, "value"));

        assert_memory_equal(&v, &pts[i].value, sizeof v);
        sb__fmt_rfc3339(pts[i].time_ns, want_time);
        assert_string_equal(json_string_value(json_object_get(p, "time")),
                            want_time);
        if (pts[i].series == 0) {
            assert_null(labels);
            assert_int_equal(json_object_size(p), 3);
        } else {
            assert_string_equal(
                json_string_value(json_object_get(labels, "k\"ey")),
                disk_labels[1].value);
            assert_int_equal(json_object_size(p), 4);
        }
    }
    json_decref(root);
    sb__buf_free(&out);
    free(pts);
}

static void test_points_json_series_listing_shape(void **state)
{
    sb_result r = make_result(two_series, 2, NULL, 0);
    sb_result none = make_result(NULL, 0, NULL, 0);
    sb_buf out;
    json_t *root;

    (void)state;
    sb__buf_init(&out, SIZE_MAX);
    assert_int_equal(sb__series_json(&r, &out), 0);
    assert_string_equal(out.data,
                        "[{\"name\":\"cpu\",\"labels\":{},\"points\":3,"
                        "\"first\":\"2026-12-03T18:22:13.12Z\","
                        "\"last\":\"2026-12-03T18:22:15.12Z\"},"
                        "{\"name\":\"disk\",\"labels\":{\"dev\":\"sda\","
                        "\"k\\\"ey\":\"v\\\\al\\n\xC3\xA9\\u2028\"},"
                        "\"points\":0,\"first\":null,\"last\":null}]");
    root = parse(&out);
    assert_int_equal(json_array_size(root), 2);
    assert_true(
        json_is_object(json_object_get(json_array_get(root, 0), "labels")));
    json_decref(root);
    sb__buf_reset(&out);

    assert_int_equal(sb__series_json(&none, &out), 0);
    assert_string_equal(out.data, "[]");
    sb__buf_free(&out);

    sb__buf_init(&out, 30);
    assert_int_equal(sb__series_json(&r, &out), SB_ETOOLARGE);
    sb__buf_free(&out);
    assert_int_equal(sb__series_json(NULL, &out), SB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_json_exact_bytes),
        cmocka_unit_test(test_points_json_empty_result_is_empty_array),
        cmocka_unit_test(test_points_json_chunks_concatenate_to_same_bytes),
        cmocka_unit_test(test_points_json_fill_after_done_is_a_no_op),
        cmocka_unit_test(test_points_json_errors),
        cmocka_unit_test(test_points_json_parses_with_jansson),
        cmocka_unit_test(test_points_json_series_listing_shape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
