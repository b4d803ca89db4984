/*
 * test_prom_parse.c - the Prometheus text format parser: every construct
 * of the format (comments, HELP/TYPE, labels with escapes and a trailing
 * comma, values in Go's float syntax, timestamps, blank lines, CRLF,
 * histogram and summary families), every class of malformed line with
 * its line number, and the limits. Table-driven where it can be.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/prom_parse.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Parses text completely; renders every item as one line into out:
 *   S name{k=v,...} value [@ts] type   H name text   T name type
 * Returns the final code (0 at the end, <0 on error). */
static int render(const char *text, const sb_prom_limits *lim, char *out,
                  size_t n, sb_prom_parser *pp)
{
    sb_prom_parser p;
    sb_prom_item it;
    size_t at = 0;
    int rc;

    if (out == NULL) { /* parse only */
        assert_int_equal(sb__prom_parser_init(&p, text, strlen(text), lim), 0);
        while ((rc = sb__prom_next(&p, &it)) == 1)
            ;
        *pp = p;
        sb__prom_parser_free(&p);
        return rc;
    }
    out[0] = '\0';
    assert_int_equal(sb__prom_parser_init(&p, text, strlen(text), lim), 0);
    while ((rc = sb__prom_next(&p, &it)) == 1) {
        if (it.kind == SB_PROM_HELP) {
            at += (size_t)snprintf(out + at, n - at, "H %s [%s]\n", it.name,
                                   it.help);
        } else if (it.kind == SB_PROM_TYPE) {
            at += (size_t)snprintf(out + at, n - at, "T %s %d\n", it.name,
                                   it.type);
        } else {
            at += (size_t)snprintf(out + at, n - at, "S %s{", it.name);
            for (size_t i = 0; i < it.nlabels; i++)
                at +=
                    (size_t)snprintf(out + at, n - at, "%s%s=%s", i ? "," : "",
                                     it.labels[i].key, it.labels[i].value);
            at += (size_t)snprintf(out + at, n - at, "} %g", it.value);
            if (it.has_time)
                at += (size_t)snprintf(out + at, n - at, " @%lld",
                                       (long long)it.time_ms);
            at += (size_t)snprintf(out + at, n - at, " %d\n", it.type);
        }
        assert_true(at < n);
    }
    if (pp != NULL)
        *pp = p;
    sb__prom_parser_free(&p);
    return rc;
}

typedef struct ok_case {
    const char *in;
    const char *want;
} ok_case;

static void test_prom_parse_accepts_every_construct(void **st)
{
    static const ok_case cases[] = {
        {"", ""},
        {"\n\n  \t\n", ""},
        {"a 1", "S a{} 1 0\n"},
        {"a 1\n", "S a{} 1 0\n"},
        {"a 1\r\nb 2\r\n", "S a{} 1 0\nS b{} 2 0\n"},
        {"  a\t 1 \t", "S a{} 1 0\n"},
        {"ns:a_b:c 1", "S ns:a_b:c{} 1 0\n"},
        {"a{} 1", "S a{} 1 0\n"},
        {"a{x=\"1\",y=\"2\",} 3", "S a{x=1,y=2} 3 0\n"},
        {"a { x = \"1\" , } 3", "S a{x=1} 3 0\n"},
        {"a{x=\"q\\\"b\\\\s\\nn\"} 1", "S a{x=q\"b\\s\nn} 1 0\n"},
        {"a{x=\"\"} 1", "S a{x=} 1 0\n"},
        {"a{x=\"{},= #\"} 1", "S a{x={},= #} 1 0\n"},
        {"a 1 1700000000000", "S a{} 1 @1700000000000 0\n"},
        {"a 1 -5", "S a{} 1 @-5 0\n"},
        {"a 1 +5", "S a{} 1 @5 0\n"},
        {"a 1.5e3", "S a{} 1500 0\n"},
        {"a -0.25", "S a{} -0.25 0\n"},
        {"a .5", "S a{} 0.5 0\n"},
        {"a 0x1p-2", "S a{} 0.25 0\n"},
        {"a NaN", "S a{} nan 0\n"},
        {"a nan", "S a{} nan 0\n"},
        {"a +Inf", "S a{} inf 0\n"},
        {"a -Inf", "S a{} -inf 0\n"},
        {"a Inf", "S a{} inf 0\n"},
        {"a -infinity", "S a{} -inf 0\n"},
        {"a 1e-400", "S a{} 0 0\n"},
        {"# a comment\n#\n# HELPER x\na 1", "S a{} 1 0\n"},
        {"# HELP a Some \\\\ help\\n text\n", "H a [Some \\ help\n text]\n"},
        {"# HELP a\n", "H a []\n"},
        {"#HELP a x\n", "H a [x]\n"},
        {"# HELP a \t  x y \n", "H a [x y ]\n"},
        {"# TYPE a counter\na 1", "T a 1\nS a{} 1 1\n"},
        {"# TYPE a gauge\n# HELP a h\na 1", "T a 2\nH a [h]\nS a{} 1 2\n"},
        {"# TYPE a untyped\na 1", "T a 0\nS a{} 1 0\n"},
        {"# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\n"
         "h_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 0.3\nother 1",
         "T h 3\nS h_bucket{le=0.1} 1 3\nS h_bucket{le=+Inf} 2 3\n"
         "S h_count{} 2 3\nS h_sum{} 0.3 3\nS other{} 1 0\n"},
        {"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 2\ns_sum 3",
         "T s 4\nS s{quantile=0.5} 1 4\nS s_count{} 2 4\nS s_sum{} 3 4\n"},
        {"# TYPE c counter\nc_total 1", "T c 1\nS c_total{} 1 0\n"},
        {"a 1\na 2", "S a{} 1 0\nS a{} 2 0\n"},
        /* Families are tracked over the whole input, not only the last. */
        {"# TYPE s summary\nother 1\ns_count 2",
         "T s 4\nS other{} 1 0\nS s_count{} 2 4\n"},
        {"# TYPE h histogram\nx 1\nh_bucket{le=\"1\"} 1",
         "T h 3\nS x{} 1 0\nS h_bucket{le=1} 1 3\n"},
        {"a_count 1\n# TYPE a summary\na_count 2",
         "S a_count{} 1 0\nT a 4\nS a_count{} 2 0\n"},
        /* A numeric le (quantile) on another line of the family is
         * accepted, as by Prometheus' parser. */
        {"# TYPE h histogram\nh_sum{le=\"1\"} 1", "T h 3\nS h_sum{le=1} 1 3\n"},
    };
    char out[1024];

    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = render(cases[i].in, NULL, out, sizeof out, NULL);

        if (rc != 0 || strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu '%s': rc %d, got '%s', want '%s'", i,
                     cases[i].in, rc, out, cases[i].want);
    }
}

typedef struct bad_case {
    const char *in;
    int rc;
    const char *err; /* "line N: ..." prefix */
} bad_case;

static void test_prom_parse_rejects_malformed_lines(void **st)
{
    static const bad_case cases[] = {
        {"a", SB_EINVAL, "line 1: invalid value for a"},
        {"a ", SB_EINVAL, "line 1: invalid value"},
        {"1a 1", SB_EINVAL, "line 1: invalid metric name"},
        {"a.b 1", SB_EINVAL, "line 1: invalid value"},
        {"-a 1", SB_EINVAL, "line 1: invalid metric name"},
        {"ok 1\na x", SB_EINVAL, "line 2: invalid value for a"},
        {"a 1x", SB_EINVAL, "line 1: invalid value"},
        {"a 0x10", SB_EINVAL, "line 1: invalid value"},
        {"a 1_000", SB_EINVAL, "line 1: invalid value"},
        {"a nan(1)", SB_EINVAL, "line 1: invalid value"},
        {"a -nan", SB_EINVAL, "line 1: invalid value"},
        {"a 1e400", SB_EINVAL, "line 1: invalid value"},
        {"a infinit", SB_EINVAL, "line 1: invalid value"},
        {"a 1 1.5", SB_EINVAL, "line 1: invalid timestamp"},
        {"a 1 99999999999999999999", SB_EINVAL, "line 1: invalid timestamp"},
        {"a 1 2 3", SB_EINVAL, "line 1: unexpected text"},
        {"a{x=\"1\"", SB_EINVAL, "line 1: expected ',' or '}'"},
        {"a{x=\"1} 1", SB_EINVAL, "line 1: invalid value of label x"},
        {"a{x=1} 1", SB_EINVAL, "line 1: invalid value of label x"},
        {"a{x} 1", SB_EINVAL, "line 1: expected '=' after label x"},
        {"a{1x=\"\"} 1", SB_EINVAL, "line 1: invalid label name"},
        {"a{x:y=\"\"} 1", SB_EINVAL, "line 1: expected '='"},
        {"a{,} 1", SB_EINVAL, "line 1: invalid label name"},
        {"a{x=\"1\",,} 1", SB_EINVAL, "line 1: invalid label name"},
        {"a{x=\"1\" y=\"2\"} 1", SB_EINVAL, "line 1: expected ',' or '}'"},
        {"a{x=\"\\t\"} 1", SB_EINVAL, "line 1: invalid value of label x"},
        {"a{x=\"1\",x=\"2\"} 1", SB_EINVAL, "line 1: label x given twice"},
        {"a{__name__=\"b\"} 1", SB_EINVAL, "line 1: label name __name__"},
        {"a\0 1", SB_EINVAL, "line 1: NUL byte"},
        {"# HELP a bad \\t escape", SB_EINVAL, "line 1: invalid escape"},
        {"# HELP 1a x", SB_EINVAL, "line 1: invalid metric name in HELP"},
        {"# HELP a x\n# HELP a y", SB_EINVAL, "line 2: second HELP line"},
        {"# TYPE a", SB_EINVAL, "line 1: invalid TYPE line for a"},
        {"# TYPE a counterx", SB_EINVAL, "line 1: invalid TYPE line"},
        {"# TYPE a gauge extra", SB_EINVAL, "line 1: invalid TYPE line"},
        {"# TYPE a.b gauge", SB_EINVAL, "line 1: invalid metric name in TYPE"},
        {"# TYPE a gauge\n# TYPE a gauge", SB_EINVAL, "line 2: second TYPE"},
        {"a 1\n# TYPE a gauge", SB_EINVAL, "line 2: samples before the TYPE"},
        {"# TYPE h histogram\nh_bucket 1", SB_EINVAL,
         "line 2: h_bucket needs a numeric le label"},
        {"# TYPE h histogram\nh_bucket{le=\"x\"} 1", SB_EINVAL,
         "line 2: h_bucket needs a numeric le label"},
        {"# TYPE a gauge\na 1\nb 1\n# TYPE a gauge", SB_EINVAL,
         "line 4: second TYPE line for a"},
        {"a 1\nb 2\n# HELP a x\n# HELP a y", SB_EINVAL,
         "line 4: second HELP line for a"},
        {"a 1\nb 2\n# TYPE a gauge", SB_EINVAL,
         "line 3: samples before the TYPE line for a"},
        {"# TYPE h histogram\nx 1\nh_bucket 1", SB_EINVAL,
         "line 3: h_bucket needs a numeric le label"},
        {"# TYPE s summary\ns 1", SB_EINVAL,
         "line 2: s needs a numeric quantile label"},
        /* As Prometheus' parser: the le (quantile) label is read as a
         * number on every line of a histogram (summary) family. */
        {"# TYPE h histogram\nh_sum{le=\"zz\"} 1", SB_EINVAL,
         "line 2: h_sum has a non-numeric le label"},
        {"# TYPE h histogram\nh_count{le=\"\"} 1", SB_EINVAL,
         "line 2: h_count has a non-numeric le label"},
        {"# TYPE s summary\ns_count{quantile=\"x\"} 1", SB_EINVAL,
         "line 2: s_count has a non-numeric quantile label"},
    };
    sb_prom_parser p;

    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].in);
        int rc;

        if (strcmp(cases[i].err, "line 1: NUL byte") == 0) /* past it */
            len = 4;
        {
            sb_prom_item it;

            assert_int_equal(sb__prom_parser_init(&p, cases[i].in, len, NULL),
                             0);
            while ((rc = sb__prom_next(&p, &it)) == 1)
                ;
            if (rc != cases[i].rc ||
                strncmp(p.err, cases[i].err, strlen(cases[i].err)) != 0)
                fail_msg("case %zu '%s': rc %d err '%s'", i, cases[i].in, rc,
                         p.err);
            /* A failed parser stays failed. */
            assert_int_equal(sb__prom_next(&p, &it), cases[i].rc);
            sb__prom_parser_free(&p);
        }
    }
}

static void test_prom_parse_nul_byte_is_rejected(void **st)
{
    static const char in[] = "a{x=\"a\0b\"} 1\n";
    sb_prom_parser p;
    sb_prom_item it;

    (void)st;
    assert_int_equal(sb__prom_parser_init(&p, in, sizeof in - 1, NULL), 0);
    assert_int_equal(sb__prom_next(&p, &it), SB_EINVAL);
    assert_string_equal(p.err, "line 1: NUL byte");
    sb__prom_parser_free(&p);
}

static void test_prom_parse_enforces_limits(void **st)
{
    sb_prom_limits lim = {16, 2, 3};
    char out[512];
    sb_prom_parser p;

    (void)st;
    assert_int_equal(render("a 1\nb 2\nc 3", &lim, out, sizeof out, NULL), 0);
    assert_int_equal(render("a 1\nb 2\nc 3\nd 4", &lim, out, sizeof out, &p),
                     SB_ETOOLARGE);
    assert_string_equal(p.err, "line 4: more than 3 samples");
    assert_int_equal(render("a{x=\"1\",y=\"22\"} 1", &lim, out, sizeof out, &p),
                     SB_ETOOLARGE);
    assert_string_equal(p.err, "line 1: longer than 16 bytes");
    lim.max_line = 100;
    assert_int_equal(
        render("a{x=\"1\",y=\"2\",z=\"3\"} 1", &lim, out, sizeof out, &p),
        SB_ETOOLARGE);
    assert_string_equal(p.err, "line 1: more than 2 labels");
    assert_int_equal(render("# HELP a x\n# HELP b x\n# TYPE c gauge\nd 1", &lim,
                            out, sizeof out, &p),
                     SB_ETOOLARGE);
    assert_string_equal(p.err, "line 4: more than 3 metric families");
}

static void test_prom_parse_limits_names_and_label_values(void **st)
{
    char in[2200], out[4096];
    sb_prom_parser p;

    (void)st;
    memset(in, 'n', 256);
    memcpy(in + 256, " 1", 3);
    assert_int_equal(render(in, NULL, out, sizeof out, &p), SB_EINVAL);
    assert_string_equal(p.err, "line 1: invalid metric name");
    in[1] = ' ';
    in[2] = '1';
    in[3] = '\0';
    memcpy(in, "a{x=\"", 5);
    memset(in + 5, 'v', 1025);
    memcpy(in + 1030, "\"} 1", 5);
    assert_int_equal(render(in, NULL, out, sizeof out, &p), SB_EINVAL);
    assert_string_equal(p.err, "line 1: invalid value of label x");
    memcpy(in + 1029, "\"} 1", 5); /* 1024 bytes: fine */
    assert_int_equal(render(in, NULL, out, sizeof out, NULL), 0);
}

static void test_prom_parse_family_table_survives_growth(void **st)
{
    static char in[32 * 1024];
    size_t at = 0;
    sb_prom_parser p;

    (void)st;
    for (int i = 0; i < 1000; i++)
        at += (size_t)snprintf(in + at, sizeof in - at,
                               "# TYPE f%d gauge\nf%d %d\n", i, i, i);
    snprintf(in + at, sizeof in - at, "# TYPE f%d counter\n", 617);
    assert_int_equal(render(in, NULL, NULL, 0, &p), SB_EINVAL);
    assert_string_equal(p.err, "line 2001: second TYPE line for f617");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_parse_accepts_every_construct),
        cmocka_unit_test(test_prom_parse_rejects_malformed_lines),
        cmocka_unit_test(test_prom_parse_nul_byte_is_rejected),
        cmocka_unit_test(test_prom_parse_enforces_limits),
        cmocka_unit_test(test_prom_parse_limits_names_and_label_values),
        cmocka_unit_test(test_prom_parse_family_table_survives_growth),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
