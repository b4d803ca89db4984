/*
 * test_prom_text.c - the Prometheus text exposition of a query snapshot:
 * exact bytes for families and types (gauge, counter, summary,
 * histogram), label escaping, name sanitising and its collisions,
 * reserved label keys, non-finite values, the newest point only, and
 * chunked output equal to one-shot output. Snapshots come from a real
 * store, as GET /metrics makes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "encode/prom_text.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HELP(n) "# HELP " n " Series stored in scoreboard.\n"

typedef struct pt {
    const char *name;
    const char *k1, *v1, *k2, *v2;
    double value;
    int64_t dt; /* ns after the base time */
} pt;

/* Writes pts into a fresh store and encodes a latest=true snapshot with
 * fill targets of `target` bytes; returns the malloc'd body. */
static char *expose(const pt *pts, size_t n, size_t target)
{
    int64_t now = sb_time_now() - 60LL * 1000000000;
    sb_store *st = NULL;
    sb_result *res = NULL;
    sb_prom_enc e;
    sb_query q;
    sb_buf out;
    int rc;

    assert_int_equal(sb_store_create(NULL, &st), 0);
    for (size_t i = 0; i < n; i++) {
        sb_label l[2] = {{pts[i].k1, pts[i].v1}, {pts[i].k2, pts[i].v2}};
        sb_sample s = {pts[i].name, l,
                       pts[i].k2   ? 2
                       : pts[i].k1 ? 1
                                   : 0,
                       pts[i].value, now + pts[i].dt};

        assert_int_equal(sb_store_write(st, &s), 0);
    }
    sb_query_init(&q);
    q.latest = true;
    assert_int_equal(sb_store_query(st, &q, &res), 0);
    assert_int_equal(sb__prom_enc_init(&e, res), 0);
    sb__buf_init(&out, SIZE_MAX);
    do {
        size_t before = out.len;

        rc = sb__prom_enc_fill(&e, &out, out.len + target);
        assert_true(rc >= 0);
        assert_true(out.len > before || rc == 0);
    } while (rc == 1);
    sb__prom_enc_free(&e);
    sb_result_free(res);
    sb_store_destroy(st);
    sb__buf_append_str(&out, ""); /* a body even when empty */
    return sb__buf_steal(&out, NULL);
}

static void check(const pt *pts, size_t n, const char *want)
{
    char *one = expose(pts, n, SIZE_MAX / 2);
    char *chunked = expose(pts, n, 1);

    assert_string_equal(one, want);
    assert_string_equal(chunked, want);
    free(one);
    free(chunked);
}

static void test_prom_text_gauges_and_counters_grouped_by_family(void **st)
{
    const pt pts[] = {
        {"temp", "room", "b", NULL, NULL, 2, 0},
        {"jobs_total", NULL, NULL, NULL, NULL, 7, 0},
        {"temp", "room", "a", NULL, NULL, 1, 0},
        {"temp", "room", "a", NULL, NULL, 1.5, 5}, /* newer: wins */
    };

    (void)st;
    /* clang-format off */
    check(pts, 4,
          HELP("jobs_total")
          "# TYPE jobs_total counter\n"
          "jobs_total 7\n"
          HELP("temp")
          "# TYPE temp gauge\n"
          "temp{room=\"a\"} 1.5\n"
          "temp{room=\"b\"} 2\n");
    /* clang-format on */
}

static void test_prom_text_escapes_label_values(void **st)
{
    const pt pts[] = {
        {"m", "k", "a\\b\"c\nd\xC3\xA9", NULL, NULL, 1, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 1,
          HELP("m")
          "# TYPE m gauge\n"
          "m{k=\"a\\\\b\\\"c\\nd\xC3\xA9\"} 1\n");
    /* clang-format on */
}

static void test_prom_text_writes_non_finite_values(void **st)
{
    const pt pts[] = {
        {"a", NULL, NULL, NULL, NULL, NAN, 0},
        {"b", NULL, NULL, NULL, NULL, INFINITY, 0},
        {"c", NULL, NULL, NULL, NULL, -INFINITY, 0},
        {"d", NULL, NULL, NULL, NULL, 1e21, 0},
        {"e", NULL, NULL, NULL, NULL, -0.0, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 5,
          HELP("a") "# TYPE a gauge\na NaN\n"
          HELP("b") "# TYPE b gauge\nb +Inf\n"
          HELP("c") "# TYPE c gauge\nc -Inf\n"
          HELP("d") "# TYPE d gauge\nd 1e+21\n"
          HELP("e") "# TYPE e gauge\ne -0\n");
    /* clang-format on */
}

static void test_prom_text_sanitises_names_and_drops_collisions(void **st)
{
    const pt pts[] = {
        {"app.queue-depth", "q", "1", NULL, NULL, 3, 0},
        {"app_queue_depth", "q", "1", NULL, NULL, 4, 0}, /* exact: kept */
        {"app-queue.depth", "q", "2", NULL, NULL, 5, 0}, /* no twin */
        {"x.y", NULL, NULL, NULL, NULL, 1, 0},
        {"x-y", NULL, NULL, NULL, NULL, 2, 0}, /* first in name order */
    };

    (void)st;
    /* clang-format off */
    check(pts, 5,
          HELP("app_queue_depth")
          "# TYPE app_queue_depth gauge\n"
          "app_queue_depth{q=\"1\"} 4\n"
          "app_queue_depth{q=\"2\"} 5\n"
          HELP("x_y")
          "# TYPE x_y gauge\n"
          "x_y 2\n");
    /* clang-format on */
}

static void test_prom_text_leaves_out_reserved_label_keys(void **st)
{
    const pt pts[] = {
        {"m", "__name__", "other", "k", "v", 1, 0},
        {"n", "__x", "1", NULL, NULL, 2, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 2,
          HELP("m") "# TYPE m gauge\nm{k=\"v\"} 1\n"
          HELP("n") "# TYPE n gauge\nn 2\n");
    /* clang-format on */
}

static void test_prom_text_detects_summaries(void **st)
{
    const pt pts[] = {
        {"rpc_seconds", "quantile", "0.5", "r", "a", 0.1, 0},
        {"rpc_seconds", "quantile", "0.99", "r", "a", 0.4, 0},
        {"rpc_seconds_count", "r", "a", NULL, NULL, 10, 0},
        {"rpc_seconds_sum", "r", "a", NULL, NULL, 2, 0},
        {"rpc_seconds_max", "r", "a", NULL, NULL, 0.5, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 5,
          HELP("rpc_seconds")
          "# TYPE rpc_seconds summary\n"
          "rpc_seconds{quantile=\"0.5\",r=\"a\"} 0.1\n"
          "rpc_seconds{quantile=\"0.99\",r=\"a\"} 0.4\n"
          "rpc_seconds_count{r=\"a\"} 10\n"
          "rpc_seconds_sum{r=\"a\"} 2\n"
          HELP("rpc_seconds_max")
          "# TYPE rpc_seconds_max gauge\n"
          "rpc_seconds_max{r=\"a\"} 0.5\n");
    /* clang-format on */
}

static void test_prom_text_detects_histograms(void **st)
{
    const pt pts[] = {
        {"lat_bucket", "le", "0.5", NULL, NULL, 3, 0},
        {"lat_bucket", "le", "+Inf", NULL, NULL, 5, 0},
        {"lat_sum", NULL, NULL, NULL, NULL, 1.5, 0},
        {"lat_count", NULL, NULL, NULL, NULL, 5, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 4,
          HELP("lat")
          "# TYPE lat histogram\n"
          "lat_bucket{le=\"+Inf\"} 5\n"
          "lat_bucket{le=\"0.5\"} 3\n"
          "lat_count 5\n"
          "lat_sum 1.5\n");
    /* clang-format on */
}

static void test_prom_text_no_summary_without_quantile_everywhere(void **st)
{
    const pt pts[] = {
        {"s", "quantile", "0.5", NULL, NULL, 1, 0},
        {"s", "quantile", "high", NULL, NULL, 2, 0}, /* not a number */
        {"s_count", NULL, NULL, NULL, NULL, 3, 0},
        {"h_bucket", "le", "1", NULL, NULL, 1, 0},
        {"h", NULL, NULL, NULL, NULL, 1, 0}, /* h exists: no histogram */
        {"h_count", NULL, NULL, NULL, NULL, 1, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 6,
          HELP("h") "# TYPE h gauge\nh 1\n"
          HELP("h_bucket") "# TYPE h_bucket gauge\nh_bucket{le=\"1\"} 1\n"
          HELP("h_count") "# TYPE h_count gauge\nh_count 1\n"
          HELP("s") "# TYPE s gauge\n"
          "s{quantile=\"0.5\"} 1\n"
          "s{quantile=\"high\"} 2\n"
          HELP("s_count") "# TYPE s_count gauge\ns_count 3\n");
    /* clang-format on */
}

/* Prometheus' parsers read a quantile label on any line of a summary
 * family, and an le label on any line of a histogram family, as a number
 * and drop it: a _count or _sum series carrying one (numeric or not)
 * would make the whole exposition unreadable (promtool: "expected float
 * as value for 'le' label") or fold series together, so no such family
 * is formed and every name stays a gauge of its own. */
static void test_prom_text_no_family_when_count_or_sum_has_its_label(void **st)
{
    const pt pts[] = {
        {"q", "quantile", "0.5", NULL, NULL, 1, 0},
        {"q_count", "quantile", "abc", NULL, NULL, 2, 0},
        {"r", "quantile", "0.5", NULL, NULL, 1, 0},
        {"r_sum", "quantile", "0.5", NULL, NULL, 2, 0},
        {"h_bucket", "le", "1", NULL, NULL, 1, 0},
        {"h_sum", "le", "zz", NULL, NULL, 3, 0},
        {"g_bucket", "le", "1", NULL, NULL, 1, 0},
        {"g_count", "le", "1", NULL, NULL, 1, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 8,
          HELP("g_bucket") "# TYPE g_bucket gauge\ng_bucket{le=\"1\"} 1\n"
          HELP("g_count") "# TYPE g_count gauge\ng_count{le=\"1\"} 1\n"
          HELP("h_bucket") "# TYPE h_bucket gauge\nh_bucket{le=\"1\"} 1\n"
          HELP("h_sum") "# TYPE h_sum gauge\nh_sum{le=\"zz\"} 3\n"
          HELP("q") "# TYPE q gauge\nq{quantile=\"0.5\"} 1\n"
          HELP("q_count") "# TYPE q_count gauge\n"
          "q_count{quantile=\"abc\"} 2\n"
          HELP("r") "# TYPE r gauge\nr{quantile=\"0.5\"} 1\n"
          HELP("r_sum") "# TYPE r_sum gauge\nr_sum{quantile=\"0.5\"} 2\n");
    /* clang-format on */
}

/* An le or quantile beyond the double range ("1e500") is no number to
 * Prometheus' parsers (ParseFloat's range error), so it forms no family. */
static void test_prom_text_out_of_range_le_is_no_number(void **st)
{
    const pt pts[] = {
        {"b_bucket", "le", "1e500", NULL, NULL, 1, 0},
        {"b_count", NULL, NULL, NULL, NULL, 1, 0},
        {"t", "quantile", "-1e999", NULL, NULL, 1, 0},
        {"t_sum", NULL, NULL, NULL, NULL, 1, 0},
    };

    (void)st;
    /* clang-format off */
    check(pts, 4,
          HELP("b_bucket") "# TYPE b_bucket gauge\nb_bucket{le=\"1e500\"} 1\n"
          HELP("b_count") "# TYPE b_count gauge\nb_count 1\n"
          HELP("t") "# TYPE t gauge\nt{quantile=\"-1e999\"} 1\n"
          HELP("t_sum") "# TYPE t_sum gauge\nt_sum 1\n");
    /* clang-format on */
}

/* An le of 64 characters or more is a number to Go but not to
 * scoreboard's own scrape parser (which reads numbers of at most 63):
 * no family, so scoreboard can always scrape its own exposition. */
static void test_prom_text_overlong_le_is_no_number(void **st)
{
#define LONG_LE                                                                \
    "0.77777777777777777777777777777777777777777777777777777777777705"
    const pt pts[] = {
        {"c_bucket", "le", LONG_LE, NULL, NULL, 1, 0},
        {"c_count", NULL, NULL, NULL, NULL, 1, 0},
    };

    (void)st;
    assert_int_equal(strlen(LONG_LE), 64);
    /* clang-format off */
    check(pts, 2,
          HELP("c_bucket") "# TYPE c_bucket gauge\n"
          "c_bucket{le=\"" LONG_LE "\"} 1\n"
          HELP("c_count") "# TYPE c_count gauge\nc_count 1\n");
    /* clang-format on */
#undef LONG_LE
}

static void test_prom_text_uses_known_help_and_empty_result(void **st)
{
    const pt pts[] = {
        {"process_open_fds", NULL, NULL, NULL, NULL, 9, 0},
    };
    char *body;

    (void)st;
    check(pts, 1,
          "# HELP process_open_fds Open file descriptors.\n"
          "# TYPE process_open_fds gauge\nprocess_open_fds 9\n");
    body = expose(NULL, 0, 100);
    assert_string_equal(body, "");
    free(body);
}

static void test_prom_text_sanitize_name(void **st)
{
    char out[16];

    (void)st;
    assert_true(sb__prom_sanitize_name("a:b_9", 5, out));
    assert_memory_equal(out, "a:b_9", 5);
    assert_false(sb__prom_sanitize_name("a.b-c", 5, out));
    assert_memory_equal(out, "a_b_c", 5);
    assert_false(sb__prom_sanitize_name("9a", 2, out));
    assert_memory_equal(out, "_a", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_text_gauges_and_counters_grouped_by_family),
        cmocka_unit_test(test_prom_text_escapes_label_values),
        cmocka_unit_test(test_prom_text_writes_non_finite_values),
        cmocka_unit_test(test_prom_text_sanitises_names_and_drops_collisions),
        cmocka_unit_test(test_prom_text_leaves_out_reserved_label_keys),
        cmocka_unit_test(test_prom_text_detects_summaries),
        cmocka_unit_test(test_prom_text_detects_histograms),
        cmocka_unit_test(test_prom_text_no_summary_without_quantile_everywhere),
        cmocka_unit_test(
            test_prom_text_no_family_when_count_or_sum_has_its_label),
        cmocka_unit_test(test_prom_text_out_of_range_le_is_no_number),
        cmocka_unit_test(test_prom_text_overlong_le_is_no_number),
        cmocka_unit_test(test_prom_text_uses_known_help_and_empty_result),
        cmocka_unit_test(test_prom_text_sanitize_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
