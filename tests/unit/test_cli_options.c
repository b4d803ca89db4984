/*
 * test_cli_options.c - parsing of `scoreboard serve` and `scoreboard push`
 * arguments and environment, the push body and the error text shown for a
 * refused push. Table-driven: each case is argv + envp and the expected
 * outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/cli.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS      INT64_C(1000000)
#define SEC     INT64_C(1000000000)
#define MAXARGS 8

static int count_args(const char *const *a)
{
    int n = 0;

    while (n < MAXARGS && a[n] != NULL)
        n++;
    return n;
}

/* ------------------------------------------------------------ serve */

typedef struct serve_case {
    const char *args[MAXARGS];
    const char *env[5]; /* NULL-terminated: at most 4 */
    /* expected; fields left zero keep the default */
    const char *listen;
    int64_t retention_ns;
    int64_t interval_ns;
    size_t max_series;
    size_t max_points;
    size_t max_body;
    size_t ncors;
    const char *cors0;
    int log_level; /* -1 = default (info) */
    bool access_log, no_process, no_system, help;
} serve_case;

static const serve_case serve_ok[] = {
    {.args = {NULL}, .log_level = -1},
    {.args = {"--listen", "0.0.0.0:9000"},
     .listen = "0.0.0.0:9000",
     .log_level = -1},
    {.args = {"--listen=[::1]:0"}, .listen = "[::1]:0", .log_level = -1},
    {.args = {"--retention", "30m"},
     .retention_ns = 1800 * SEC,
     .log_level = -1},
    {.args = {"--retention=2h30m"},
     .retention_ns = 9000 * SEC,
     .log_level = -1},
    {.args = {"--interval", "10ms"}, .interval_ns = 10 * MS, .log_level = -1},
    {.args = {"--interval=1.5s"}, .interval_ns = 1500 * MS, .log_level = -1},
    {.args = {"--max-series", "5", "--max-points=7"},
     .max_series = 5,
     .max_points = 7,
     .log_level = -1},
    {.args = {"--max-series", "18446744073709551615"},
     .max_series = SIZE_MAX,
     .log_level = -1},
    {.args = {"--max-body", "2048"}, .max_body = 2048, .log_level = -1},
    {.args = {"--max-body=512KiB"}, .max_body = 512 * 1024, .log_level = -1},
    {.args = {"--max-body", "1024MiB"},
     .max_body = 1024u * 1024 * 1024,
     .log_level = -1},
    {.args = {"--cors-origin", "https://a.example", "--cors-origin=*"},
     .ncors = 2,
     .cors0 = "https://a.example",
     .log_level = -1},
    {.args = {"--access-log", "--no-process", "--no-system"},
     .access_log = true,
     .no_process = true,
     .no_system = true,
     .log_level = -1},
    {.args = {"--log-level", "debug"}, .log_level = SB_LOG_DEBUG},
    {.args = {"--log-level=error"}, .log_level = SB_LOG_ERROR},
    /* --help wins over anything after it. */
    {.args = {"--help", "--bogus"}, .help = true, .log_level = -1},
    {.args = {"-h"}, .help = true, .log_level = -1},
    {.args = {"--listen", "1.2.3.4:5", "--help"},
     .listen = "1.2.3.4:5",
     .help = true,
     .log_level = -1},
    /* Environment mirrors. */
    {.args = {NULL},
     .env = {"SCOREBOARD_LISTEN=10.0.0.1:81", "SCOREBOARD_RETENTION=2h",
             "SCOREBOARD_INTERVAL=250ms", "SCOREBOARD_MAX_SERIES=3"},
     .listen = "10.0.0.1:81",
     .retention_ns = 7200 * SEC,
     .interval_ns = 250 * MS,
     .max_series = 3,
     .log_level = -1},
    {.args = {NULL},
     .env = {"SCOREBOARD_MAX_POINTS=9", "SCOREBOARD_MAX_BODY=1MiB",
             "SCOREBOARD_ACCESS_LOG=true", "SCOREBOARD_LOG_LEVEL=warn"},
     .max_points = 9,
     .max_body = 1024 * 1024,
     .access_log = true,
     .log_level = SB_LOG_WARN},
    {.args = {NULL},
     .env = {"SCOREBOARD_CORS_ORIGIN= https://a , https://b,,*",
             "SCOREBOARD_ACCESS_LOG=1"},
     .ncors = 3,
     .cors0 = "https://a",
     .access_log = true,
     .log_level = -1},
    {.args = {NULL},
     .env = {"SCOREBOARD_ACCESS_LOG=0"},
     .access_log = false,
     .log_level = -1},
    /* Flags override the environment, even a bad variable. */
    {.args = {"--listen", "127.0.0.1:1", "--cors-origin", "x"},
     .env = {"SCOREBOARD_LISTEN=bad", "SCOREBOARD_CORS_ORIGIN=a,b,c"},
     .listen = "127.0.0.1:1",
     .ncors = 1,
     .cors0 = "x",
     .log_level = -1},
    {.args = {"--retention", "5m"},
     .env = {"SCOREBOARD_RETENTION=0"},
     .retention_ns = 300 * SEC,
     .log_level = -1},
    /* An empty variable counts as unset. */
    {.args = {NULL},
     .env = {"SCOREBOARD_LISTEN=", "SCOREBOARD_MAX_SERIES="},
     .log_level = -1},
};

static void check_serve_ok(const serve_case *c, const sb_cli_serve *o)
{
    assert_string_equal(o->listen, c->listen ? c->listen : "127.0.0.1:8080");
    assert_true(o->retention_ns ==
                (c->retention_ns ? c->retention_ns : 3600 * SEC));
    assert_true(o->interval_ns == (c->interval_ns ? c->interval_ns : SEC));
    assert_true(o->max_series == (c->max_series ? c->max_series : 10000));
    assert_true(o->max_points == (c->max_points ? c->max_points : 10000));
    assert_true(o->max_body == (c->max_body ? c->max_body : 1024 * 1024));
    assert_int_equal(o->ncors, c->ncors);
    if (c->cors0 != NULL)
        assert_string_equal(o->cors[0], c->cors0);
    assert_int_equal(o->log_level,
                     c->log_level < 0 ? SB_LOG_INFO : c->log_level);
    assert_int_equal(o->access_log, c->access_log);
    assert_int_equal(o->no_process, c->no_process);
    assert_int_equal(o->no_system, c->no_system);
    assert_int_equal(o->help, c->help);
}

static void test_serve_parses_every_flag_and_variable(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof serve_ok / sizeof serve_ok[0]; i++) {
        const serve_case *c = &serve_ok[i];
        char err[SB_CLI_ERR_MAX];
        sb_cli_serve o;
        int rc;

        rc = sb__cli_parse_serve(
            count_args(c->args), (char *const *)(uintptr_t)c->args,
            (char *const *)(uintptr_t)c->env, &o, err, sizeof err);
        if (rc != 0)
            fail_msg("case %zu ('%s'): %s", i, c->args[0] ? c->args[0] : "",
                     err);
        check_serve_ok(c, &o);
        sb__cli_serve_free(&o);
    }
}

typedef struct reject_case {
    const char *args[MAXARGS];
    const char *env[2];
    const char *in_message; /* must appear in the error text */
} reject_case;

static const reject_case serve_bad[] = {
    {{"--retention", "0"}, {NULL}, "--retention"},
    {{"--retention=0s"}, {NULL}, "greater than zero"},
    {{"--retention", "-1h"}, {NULL}, "--retention"},
    {{"--retention", "soon"}, {NULL}, "not a duration"},
    {{"--retention", "999999999h"}, {NULL}, "too long"},
    {{"--interval", "5ms"}, {NULL}, "at least 10ms"},
    {{"--interval", "0"}, {NULL}, "--interval"},
    {{"--max-series", "0"}, {NULL}, "--max-series"},
    {{"--max-series", "99999999999999999999"}, {NULL}, "too large"},
    {{"--max-series", "-1"}, {NULL}, "positive integer"},
    {{"--max-series", "+5"}, {NULL}, "positive integer"},
    {{"--max-series", " 5"}, {NULL}, "positive integer"},
    {{"--max-series", "1.5"}, {NULL}, "positive integer"},
    {{"--max-series="}, {NULL}, "--max-series"},
    {{"--max-points", "0"}, {NULL}, "--max-points"},
    {{"--max-points", "ten"}, {NULL}, "--max-points"},
    {{"--max-body", "0"}, {NULL}, "--max-body"},
    {{"--max-body", "0KiB"}, {NULL}, "at least 1 byte"},
    {{"--max-body", "KiB"}, {NULL}, "--max-body"},
    {{"--max-body", "1025MiB"}, {NULL}, "1GiB"},
    {{"--max-body", "99999999999999999999"}, {NULL}, "1GiB"},
    {{"--max-body", "10k"}, {NULL}, "not a size"},
    {{"--max-body", "10 MiB"}, {NULL}, "not a size"},
    {{"--max-body", "-1"}, {NULL}, "not a size"},
    {{"--log-level", "verbose"}, {NULL}, "--log-level"},
    {{"--listen", "localhost"}, {NULL}, "HOST:PORT"},
    {{"--listen", ":80"}, {NULL}, "HOST:PORT"},
    {{"--listen", "host:"}, {NULL}, "HOST:PORT"},
    {{"--listen", "host:65536"}, {NULL}, "HOST:PORT"},
    {{"--listen", "host:8x"}, {NULL}, "HOST:PORT"},
    {{"--listen", "[::1:80"}, {NULL}, "unclosed"},
    {{"--cors-origin", ""}, {NULL}, "empty"},
    {{"--cors-origin", "a b"}, {NULL}, "control"},
    {{"--cors-origin", "a\r\nX-Evil: 1"}, {NULL}, "control"},
    {{"--bogus"}, {NULL}, "unknown flag '--bogus'"},
    {{"--listenx=1"}, {NULL}, "unknown flag"},
    {{"extra"}, {NULL}, "unexpected argument 'extra'"},
    {{"-v"}, {NULL}, "unexpected argument"},
    {{"--listen"}, {NULL}, "--listen needs a value"},
    {{"--max-series"}, {NULL}, "needs a value"},
    {{"--access-log=1"}, {NULL}, "--access-log takes no value"},
    {{"--no-system=yes"}, {NULL}, "takes no value"},
    {{NULL}, {"SCOREBOARD_RETENTION=0"}, "SCOREBOARD_RETENTION"},
    {{NULL}, {"SCOREBOARD_INTERVAL=1ms"}, "SCOREBOARD_INTERVAL"},
    {{NULL}, {"SCOREBOARD_MAX_SERIES=abc"}, "SCOREBOARD_MAX_SERIES"},
    {{NULL}, {"SCOREBOARD_MAX_POINTS=0"}, "SCOREBOARD_MAX_POINTS"},
    {{NULL}, {"SCOREBOARD_MAX_BODY=1GiB"}, "SCOREBOARD_MAX_BODY"},
    {{NULL}, {"SCOREBOARD_ACCESS_LOG=maybe"}, "SCOREBOARD_ACCESS_LOG"},
    {{NULL}, {"SCOREBOARD_LOG_LEVEL=loud"}, "SCOREBOARD_LOG_LEVEL"},
    {{NULL}, {"SCOREBOARD_LISTEN=nope"}, "SCOREBOARD_LISTEN"},
    {{NULL}, {"SCOREBOARD_CORS_ORIGIN=a,b c"}, "SCOREBOARD_CORS_ORIGIN"},
};

static void test_serve_rejects_bad_flags_and_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof serve_bad / sizeof serve_bad[0]; i++) {
        const reject_case *c = &serve_bad[i];
        char err[SB_CLI_ERR_MAX] = "";
        sb_cli_serve o;
        int rc;

        rc = sb__cli_parse_serve(
            count_args(c->args), (char *const *)(uintptr_t)c->args,
            (char *const *)(uintptr_t)c->env, &o, err, sizeof err);
        if (rc != SB_EINVAL)
            fail_msg("case %zu ('%s'): rc %d, want SB_EINVAL", i,
                     c->args[0] ? c->args[0] : c->env[0], rc);
        if (strstr(err, c->in_message) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, err,
                     c->in_message);
        /* Nothing is left to free after a failure. */
        assert_null(o.cors);
        assert_null(o.cors_env);
    }
}

/* --statsd and SCOREBOARD_STATSD: off by default, flag over variable,
 * the same HOST:PORT check as --listen. */
static void test_serve_statsd_flag_and_variable(void **state)
{
    static const char *const none[] = {NULL};
    static const char *const flag[] = {"--statsd", "127.0.0.1:8125", NULL};
    static const char *const env[] = {"SCOREBOARD_STATSD=[::1]:0", NULL};
    static const char *const bad[] = {"--statsd", "8125", NULL};
    static const char *const bad_env[] = {"SCOREBOARD_STATSD=host:99999", NULL};
    char err[SB_CLI_ERR_MAX] = "";
    sb_cli_serve o;

    (void)state;
    assert_int_equal(sb__cli_parse_serve(0, (char *const *)(uintptr_t)none,
                                         (char *const *)(uintptr_t)none, &o,
                                         err, sizeof err),
                     0);
    assert_null(o.statsd);
    sb__cli_serve_free(&o);
    assert_int_equal(sb__cli_parse_serve(2, (char *const *)(uintptr_t)flag,
                                         (char *const *)(uintptr_t)env, &o, err,
                                         sizeof err),
                     0);
    assert_string_equal(o.statsd, "127.0.0.1:8125");
    sb__cli_serve_free(&o);
    assert_int_equal(sb__cli_parse_serve(0, (char *const *)(uintptr_t)none,
                                         (char *const *)(uintptr_t)env, &o, err,
                                         sizeof err),
                     0);
    assert_string_equal(o.statsd, "[::1]:0");
    sb__cli_serve_free(&o);
    assert_int_equal(sb__cli_parse_serve(2, (char *const *)(uintptr_t)bad,
                                         (char *const *)(uintptr_t)none, &o,
                                         err, sizeof err),
                     SB_EINVAL);
    assert_non_null(strstr(err, "--statsd"));
    assert_int_equal(sb__cli_parse_serve(0, (char *const *)(uintptr_t)none,
                                         (char *const *)(uintptr_t)bad_env, &o,
                                         err, sizeof err),
                     SB_EINVAL);
    assert_non_null(strstr(err, "SCOREBOARD_STATSD"));
}

/* --max-memory and SCOREBOARD_MAX_MEMORY: sizes with binary suffixes, 0
 * for no cap, a clear error for anything else. */
static void test_serve_parses_max_memory(void **state)
{
    static const struct {
        const char *args[3];
        const char *env[2];
        size_t want;
    } ok[] = {
        {{NULL}, {NULL}, (size_t)256 << 20},
        {{"--max-memory", "64MiB"}, {NULL}, (size_t)64 << 20},
        {{"--max-memory=1GiB"}, {NULL}, (size_t)1 << 30},
        {{"--max-memory", "4096"}, {NULL}, 4096},
        {{"--max-memory", "10B"}, {NULL}, 10},
        {{"--max-memory", "512KiB"}, {NULL}, 512 * 1024},
        {{"--max-memory", "0"}, {NULL}, 0},
        {{NULL}, {"SCOREBOARD_MAX_MEMORY=2GiB"}, (size_t)2 << 30},
        {{"--max-memory", "1MiB"}, {"SCOREBOARD_MAX_MEMORY=bad"}, 1 << 20},
    };
    static const reject_case bad[] = {
        {{"--max-memory", "64M"}, {NULL}, "not a size"},
        {{"--max-memory", "MiB"}, {NULL}, "not a size"},
        {{"--max-memory", "-1"}, {NULL}, "not a size"},
        {{"--max-memory", "1.5GiB"}, {NULL}, "not a size"},
        {{"--max-memory", "99999999999999999999"}, {NULL}, "too large"},
        {{"--max-memory", "99999999999TiB"}, {NULL}, "too large"},
        {{"--max-memory"}, {NULL}, "needs a value"},
        {{NULL}, {"SCOREBOARD_MAX_MEMORY=lots"}, "SCOREBOARD_MAX_MEMORY"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char err[SB_CLI_ERR_MAX];
        sb_cli_serve o;

        if (sb__cli_parse_serve(
                count_args(ok[i].args), (char *const *)(uintptr_t)ok[i].args,
                (char *const *)(uintptr_t)ok[i].env, &o, err, sizeof err) != 0)
            fail_msg("case %zu: %s", i, err);
        assert_true(o.max_memory == ok[i].want);
        sb__cli_serve_free(&o);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[SB_CLI_ERR_MAX] = "";
        sb_cli_serve o;

        assert_int_equal(
            sb__cli_parse_serve(
                count_args(bad[i].args), (char *const *)(uintptr_t)bad[i].args,
                (char *const *)(uintptr_t)bad[i].env, &o, err, sizeof err),
            SB_EINVAL);
        if (strstr(err, bad[i].in_message) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, err,
                     bad[i].in_message);
    }
}

static void test_getenv_ignores_prefixes_and_empty_values(void **state)
{
    const char *env[] = {"SCOREBOARD_LISTENER=x",
                         "SCOREBOARD_URL=", "SCOREBOARD_LISTEN=y", NULL};
    char *const *e = (char *const *)(uintptr_t)env;

    (void)state;
    assert_string_equal(sb__cli_getenv(e, "SCOREBOARD_LISTEN"), "y");
    assert_null(sb__cli_getenv(e, "SCOREBOARD_URL"));
    assert_null(sb__cli_getenv(e, "SCOREBOARD"));
    assert_null(sb__cli_getenv(NULL, "SCOREBOARD_LISTEN"));
}

/* ------------------------------------------------------------- push */

static const int64_t NOW = INT64_C(1700000000) * SEC;

static int parse_push(const char *const *args, const char *const *env,
                      sb_cli_push *p, char *err, size_t errn)
{
    return sb__cli_parse_push(count_args(args), (char *const *)(uintptr_t)args,
                              (char *const *)(uintptr_t)env, NOW, p, err, errn);
}

static void test_push_parses_name_value_and_labels(void **state)
{
    const char *args[MAXARGS] = {"cpu", "45.2", "host=a", "k=v=w", "e="};
    const char *env[] = {NULL};
    char err[SB_CLI_ERR_MAX];
    sb_cli_push p;

    (void)state;
    assert_int_equal(parse_push(args, env, &p, err, sizeof err), 0);
    assert_string_equal(p.name, "cpu");
    assert_true(p.value == 45.2);
    assert_int_equal(p.nlabels, 3);
    assert_string_equal(p.labels[0].key, "host");
    assert_string_equal(p.labels[0].value, "a");
    /* Split at the first '='. */
    assert_string_equal(p.labels[1].key, "k");
    assert_string_equal(p.labels[1].value, "v=w");
    assert_string_equal(p.labels[2].value, "");
    assert_string_equal(p.url, "http://127.0.0.1:8080");
    assert_false(p.has_time);
    assert_false(p.help);
    sb__cli_push_free(&p);
}

static void test_push_accepts_special_values(void **state)
{
    static const struct {
        const char *text;
        double v;
    } cases[] = {{"NaN", NAN},        {"nan", NAN},      {"+Inf", INFINITY},
                 {"-Inf", -INFINITY}, {"inf", INFINITY}, {"-5", -5},
                 {"1e3", 1000},       {"0.1", 0.1},      {"-0", 0}};
    const char *env[] = {NULL};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[MAXARGS] = {"m", cases[i].text};
        char err[SB_CLI_ERR_MAX];
        sb_cli_push p;

        if (parse_push(args, env, &p, err, sizeof err) != 0)
            fail_msg("'%s' refused: %s", cases[i].text, err);
        if (isnan(cases[i].v))
            assert_true(isnan(p.value));
        else
            assert_true(p.value == cases[i].v);
        sb__cli_push_free(&p);
    }
}

static void test_push_flags_url_time_and_env(void **state)
{
    const char *a1[MAXARGS] = {"--url", "http://h:1/", "m", "1",
                               "--time=1700000100"};
    const char *a2[MAXARGS] = {"m", "--time", "-5m", "1", "--url=https://x"};
    const char *a3[MAXARGS] = {"m", "1"};
    const char *env[] = {"SCOREBOARD_URL=http://env:2", NULL};
    const char *a4[MAXARGS] = {"m", "1", "--help"};
    char err[SB_CLI_ERR_MAX];
    sb_cli_push p;

    (void)state;
    assert_int_equal(parse_push(a1, env, &p, err, sizeof err), 0);
    assert_string_equal(p.url, "http://h:1/");
    assert_true(p.has_time);
    assert_true(p.time_ns == INT64_C(1700000100) * SEC);
    sb__cli_push_free(&p);

    assert_int_equal(parse_push(a2, env, &p, err, sizeof err), 0);
    assert_string_equal(p.url, "https://x");
    assert_true(p.time_ns == NOW - 300 * SEC);
    assert_true(p.value == 1.0);
    sb__cli_push_free(&p);

    assert_int_equal(parse_push(a3, env, &p, err, sizeof err), 0);
    assert_string_equal(p.url, "http://env:2");
    sb__cli_push_free(&p);

    assert_int_equal(parse_push(a4, env, &p, err, sizeof err), 0);
    assert_true(p.help);
    sb__cli_push_free(&p);
}

static const reject_case push_bad[] = {
    {{NULL}, {NULL}, "NAME and VALUE"},
    {{"cpu"}, {NULL}, "NAME and VALUE"},
    {{"cpu", "abc"}, {NULL}, "not a number"},
    {{"cpu", ""}, {NULL}, "not a number"},
    {{"cpu", " 1"}, {NULL}, "not a number"},
    {{"cpu", "1 "}, {NULL}, "not a number"},
    {{"cpu", "1,5"}, {NULL}, "not a number"},
    {{"cpu", "1e999"}, {NULL}, "out of range"},
    {{"9cpu", "1"}, {NULL}, "NAME"},
    {{"", "1"}, {NULL}, "NAME"},
    {{"c pu", "1"}, {NULL}, "NAME"},
    {{"cpu", "1", "=v"}, {NULL}, "label key"},
    {{"cpu", "1", "novalue"}, {NULL}, "not key=value"},
    {{"cpu", "1", "a=1", "a=2"}, {NULL}, "repeated"},
    {{"cpu", "1", "bad-key=v"}, {NULL}, "label key"},
    {{"cpu", "1", "9k=v"}, {NULL}, "label key"},
    {{"cpu", "1", "k=\xff"}, {NULL}, "not valid UTF-8"},
    {{"cpu", "1", "k=\xc0\xaf"}, {NULL}, "not valid UTF-8"},
    {{"cpu", "1", "k=\xed\xa0\x80"}, {NULL}, "not valid UTF-8"},
    {{"cpu", "1", "--bogus"}, {NULL}, "unknown flag '--bogus'"},
    {{"cpu", "1", "--url"}, {NULL}, "--url needs a value"},
    {{"cpu", "1", "--time"}, {NULL}, "--time needs a value"},
    {{"cpu", "1", "--url", "ftp://x"}, {NULL}, "http://"},
    {{"cpu", "1", "--url="}, {NULL}, "http://"},
    {{"cpu", "1", "--time", "yesterday"}, {NULL}, "--time"},
    {{"cpu", "1"}, {"SCOREBOARD_URL=localhost:8080"}, "http://"},
};

static void test_push_rejects_usage_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof push_bad / sizeof push_bad[0]; i++) {
        const reject_case *c = &push_bad[i];
        char err[SB_CLI_ERR_MAX] = "";
        sb_cli_push p;
        int rc = parse_push(c->args, c->env, &p, err, sizeof err);

        if (rc != SB_EINVAL)
            fail_msg("case %zu: rc %d, want SB_EINVAL", i, rc);
        if (strstr(err, c->in_message) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, err,
                     c->in_message);
        assert_int_equal(p.nlabels, 0);
    }
}

static void test_push_refuses_too_many_labels_and_long_values(void **state)
{
    char *args[SB_LABELS_MAX + 4];
    char text[SB_LABELS_MAX + 1][16];
    char *big = malloc(SB_LABEL_VALUE_MAX + 8);
    const char *env[] = {NULL};
    char err[SB_CLI_ERR_MAX];
    sb_cli_push p;
    int n = 0;

    (void)state;
    args[n++] = (char *)(uintptr_t) "m";
    args[n++] = (char *)(uintptr_t) "1";
    for (int i = 0; i <= SB_LABELS_MAX; i++) {
        snprintf(text[i], sizeof text[i], "k%d=v", i);
        args[n++] = text[i];
    }
    assert_int_equal(sb__cli_parse_push(n - 1, args,
                                        (char *const *)(uintptr_t)env, NOW, &p,
                                        err, sizeof err),
                     0);
    assert_int_equal(p.nlabels, SB_LABELS_MAX);
    sb__cli_push_free(&p);
    assert_int_equal(sb__cli_parse_push(n, args, (char *const *)(uintptr_t)env,
                                        NOW, &p, err, sizeof err),
                     SB_EINVAL);
    assert_non_null(strstr(err, "more than 32 labels"));

    memcpy(big, "k=", 2);
    memset(big + 2, 'x', SB_LABEL_VALUE_MAX + 1);
    big[SB_LABEL_VALUE_MAX + 3] = '\0';
    args[2] = big;
    assert_int_equal(sb__cli_parse_push(3, args, (char *const *)(uintptr_t)env,
                                        NOW, &p, err, sizeof err),
                     SB_EINVAL);
    assert_non_null(strstr(err, "over 1024 bytes"));
    free(big);
}

static json_t *body_of(const char *const *args)
{
    const char *env[] = {NULL};
    char err[SB_CLI_ERR_MAX];
    sb_cli_push p;
    sb_buf b;
    json_t *root;

    sb__buf_init(&b, SIZE_MAX);
    assert_int_equal(parse_push(args, env, &p, err, sizeof err), 0);
    assert_int_equal(sb__cli_push_body(&p, &b), 0);
    root = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(root);
    sb__cli_push_free(&p);
    sb__buf_free(&b);
    return root;
}

static void test_push_body_is_a_point_object(void **state)
{
    const char *a1[MAXARGS] = {"cpu", "45.25", "host=a\"b",
                               "--time=2026-12-03T18:22:13Z"};
    const char *a2[MAXARGS] = {"up", "-Inf"};
    const char *a3[MAXARGS] = {"up", "NaN"};
    json_t *j;

    (void)state;
    j = body_of(a1);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "cpu");
    assert_true(json_real_value(json_object_get(j, "value")) == 45.25);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "labels"), "host")),
                        "a\"b");
    assert_string_equal(json_string_value(json_object_get(j, "time")),
                        "2026-12-03T18:22:13Z");
    assert_int_equal(json_object_size(j), 4);
    json_decref(j);

    j = body_of(a2);
    assert_string_equal(json_string_value(json_object_get(j, "value")), "-Inf");
    /* No labels and no time: the fields are left out. */
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);

    j = body_of(a3);
    assert_string_equal(json_string_value(json_object_get(j, "value")), "NaN");
    json_decref(j);
}

static void test_error_message_prefers_the_json_error_text(void **state)
{
    static const struct {
        const char *body;
        const char *want;
    } cases[] = {
        {"{\"error\":\"name is invalid\"}", "name is invalid"},
        {"{\"error\":{\"message\":\"too large\",\"code\":413}}", "too large"},
        {"{\"message\":\"m\"}", "m"},
        {"not json\n", "not json"},
        {"{\"error\":\"a\\nb\"}", "a b"},
        {"bad\x01\x7f byte", "bad   byte"},
        {"", ""},
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sb__cli_error_message(cases[i].body, strlen(cases[i].body), out,
                              sizeof out);
        assert_string_equal(out, cases[i].want);
    }
    /* Long bodies are cut to the buffer. */
    sb__cli_error_message("0123456789", 10, out, 5);
    assert_string_equal(out, "0123");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_parses_every_flag_and_variable),
        cmocka_unit_test(test_serve_rejects_bad_flags_and_values),
        cmocka_unit_test(test_serve_parses_max_memory),
        cmocka_unit_test(test_getenv_ignores_prefixes_and_empty_values),
        cmocka_unit_test(test_push_parses_name_value_and_labels),
        cmocka_unit_test(test_push_accepts_special_values),
        cmocka_unit_test(test_push_flags_url_time_and_env),
        cmocka_unit_test(test_push_rejects_usage_errors),
        cmocka_unit_test(test_push_refuses_too_many_labels_and_long_values),
        cmocka_unit_test(test_push_body_is_a_point_object),
        cmocka_unit_test(test_error_message_prefers_the_json_error_text),
        cmocka_unit_test(test_serve_statsd_flag_and_variable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
