/*
 * test_scrape.c - the scraper's pure parts: target URL checks and the
 * instance they yield, ingest of a scraped body into a store (labels,
 * exported_job/exported_instance, timestamps, the self series, nothing
 * stored on any failure), and the --scrape / SCOREBOARD_SCRAPE options.
 * The threads and libcurl are covered end to end (test_prometheus.c and
 * tests/clients/prometheus.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "collect/scrape.h"
#include "unit/support/store_probe.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS 1000000000LL

typedef struct url_case {
    const char *url;
    const char *instance; /* NULL: refused */
} url_case;

static void test_scrape_url_check(void **st)
{
    static const url_case cases[] = {
        {"http://127.0.0.1:9100/metrics", "127.0.0.1:9100"},
        {"http://example.test/metrics", "example.test:80"},
        {"https://example.test/", "example.test:443"},
        {"HTTP://example.test:81/x?y=1", "example.test:81"},
        {"http://[::1]:9100/metrics", "[::1]:9100"},
        {"ftp://example.test/", NULL},
        {"file:///etc/passwd", NULL},
        {"", NULL},
        {"http://", NULL},
        {"example.test:9100", NULL},
        {"http://user:pw@example.test/", NULL},
        {"http://exa mple.test/", NULL},
    };
    char inst[SB_SCRAPE_INSTANCE_MAX];

    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *reason = NULL;
        int rc = sb__scrape_url_check(cases[i].url, inst, sizeof inst, &reason);

        if (cases[i].instance == NULL) {
            if (rc != SB_EINVAL || reason == NULL)
                fail_msg("%s: accepted", cases[i].url);
        } else if (rc != 0 || strcmp(inst, cases[i].instance) != 0) {
            fail_msg("%s: rc %d (%s) instance %s", cases[i].url, rc,
                     reason ? reason : "", inst);
        }
    }
}

static sb_store *new_store(void)
{
    sb_store *s = NULL;

    assert_int_equal(sb_store_create(NULL, &s), 0);
    return s;
}

static size_t series_count(sb_store *s)
{
    sb_store_stats stats;

    sb_store_stats_get(s, &stats);
    return stats.series;
}

static void test_scrape_ingest_labels_and_self_series(void **st)
{
    int64_t now = sb_time_now() / NS * NS;
    long long ts_ms = (long long)((now - 30 * NS) / 1000000);
    char body[512], err[256] = "";
    sb_store *s = new_store();
    size_t n = 0;
    double v = 0;

    (void)st;
    snprintf(body, sizeof body,
             "# HELP temp Temperature.\n# TYPE temp gauge\n"
             "temp{room=\"a\"} 21.5\n"
             "temp{job=\"x\",instance=\"y\"} 3\n"
             "temp{job=\"x\",exported_job=\"z\"} 4\n"
             "old 7 %lld\n",
             ts_ms);
    assert_int_equal(sb__scrape_ingest(s, body, strlen(body), "node", "h:1",
                                       now, 0.25, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 4);
    {
        const char *kv[] = {"room", "a", "job", "node", "instance", "h:1"};
        const char *kv2[] = {
            "exported_job", "x",    "exported_instance", "y",
            "job",          "node", "instance",          "h:1"};
        const char *self[] = {"job", "node", "instance", "h:1"};
        const char *kv3[] = {"exported_exported_job",
                             "x",
                             "exported_job",
                             "z",
                             "job",
                             "node",
                             "instance",
                             "h:1"};

        assert_int_equal(sb_test_value_at(s, "temp", kv, 3, now, &v), 1);
        assert_true(v == 21.5);
        assert_int_equal(sb_test_value_at(s, "temp", kv2, 4, now, &v), 1);
        assert_true(v == 3);
        assert_int_equal(sb_test_value_at(s, "temp", kv3, 4, now, &v), 1);
        assert_true(v == 4);
        assert_int_equal(
            sb_test_value_at(s, "old", self, 2, (int64_t)ts_ms * 1000000, &v),
            1);
        assert_true(v == 7);
        assert_int_equal(sb_test_value_at(s, "up", self, 2, now, &v), 1);
        assert_true(v == 1);
        assert_int_equal(
            sb_test_value_at(s, "scrape_duration_seconds", self, 2, now, &v),
            1);
        assert_true(v == 0.25);
        assert_int_equal(
            sb_test_value_at(s, "scrape_samples_scraped", self, 2, now, &v), 1);
        assert_true(v == 4);
    }
    sb_store_destroy(s);
}

typedef struct bad_body {
    const char *body;
    int rc;
    const char *err;
} bad_body;

static void test_scrape_ingest_failure_stores_nothing(void **st)
{
    static const bad_body cases[] = {
        {"a 1\nb{", SB_EINVAL, "line 2: "},
        {"a 1\nb x", SB_EINVAL, "line 2: invalid value for b"},
        {"a 1 -1", SB_ERANGE, "sample 1: timestamp out of range"},
        {"a{l=\"\xff\"} 1", SB_EINVAL, "sample 1 refused: "},
    };
    char err[256];

    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sb_store *s = new_store();
        size_t n = 99;
        int rc;

        err[0] = '\0';
        rc = sb__scrape_ingest(s, cases[i].body, strlen(cases[i].body), "j",
                               "h:1", sb_time_now(), 0.1, &n, err, sizeof err);
        if (rc != cases[i].rc ||
            strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("case %zu: rc %d err '%s'", i, rc, err);
        assert_int_equal(series_count(s), 0);
        sb_store_destroy(s);
    }
}

/* A sample refused for its own timestamp is skipped and counted; the
 * rest of the scrape is stored. Past the skip limit the scrape fails. */
static void test_scrape_ingest_skips_samples_refused_for_time(void **st)
{
    static const char *const self[] = {"job", "j", "instance", "h:1"};
    int64_t now = sb_time_now();
    sb_store *s = new_store();
    char body[128], err[256] = "", big[2048];
    size_t n = 0, at = 0;
    double v = 0;

    (void)st;
    /* 1970, and a day ahead of now (the store accepts 10 minutes). */
    snprintf(body, sizeof body, "good 1\nstale 2 1000\nahead 3 %lld\n",
             (long long)(now / 1000000 + 86400000));
    assert_int_equal(sb__scrape_ingest(s, body, strlen(body), "j", "h:1", now,
                                       0.1, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 3);
    assert_int_equal(sb_test_value_at(s, "good", self, 2, now, &v), 1);
    assert_true(v == 1);
    assert_int_equal(
        sb_test_value_at(s, "scrape_samples_skipped", self, 2, now, &v), 1);
    assert_true(v == 2);
    assert_int_equal(
        sb_test_value_at(s, "scrape_samples_scraped", self, 2, now, &v), 1);
    assert_true(v == 3);
    assert_int_equal(sb_test_value_at(s, "up", self, 2, now, &v), 1);
    assert_true(v == 1);
    assert_int_equal(series_count(s), 5); /* good and the four self series */
    sb_store_destroy(s);

    /* 65 stale samples: one more than a scrape may skip. */
    s = new_store();
    for (int i = 0; i < 65; i++)
        at += (size_t)snprintf(big + at, sizeof big - at, "o%d 1 1000\n", i);
    assert_int_equal(sb__scrape_ingest(s, big, at, "j", "h:1", now, 0.1, &n,
                                       err, sizeof err),
                     SB_ERANGE);
    assert_non_null(strstr(err, "skipped for their time"));
    assert_int_equal(series_count(s), 0);
    sb_store_destroy(s);
}

static void test_scrape_ingest_limits_labels_to_leave_room(void **st)
{
    char body[2048];
    size_t at = 0, n = 0;
    sb_store *s = new_store();
    char err[256] = "";

    (void)st;
    at += (size_t)snprintf(body, sizeof body, "m{");
    for (int i = 0; i < SB_LABELS_MAX - 1; i++)
        at += (size_t)snprintf(body + at, sizeof body - at, "l%d=\"v\",", i);
    snprintf(body + at, sizeof body - at, "} 1\n");
    assert_int_equal(sb__scrape_ingest(s, body, strlen(body), "j", "h:1",
                                       sb_time_now(), 0, &n, err, sizeof err),
                     SB_ETOOLARGE);
    assert_non_null(strstr(err, "more than 30 labels"));
    assert_int_equal(series_count(s), 0);
    sb_store_destroy(s);
}

static void test_scraper_refuses_bad_targets(void **st)
{
    const sb_scrape_target bad[] = {
        {"ftp://127.0.0.1/", 0, NULL},
        {"http://127.0.0.1:1/", 1000000, NULL}, /* 1ms */
        {NULL, 0, NULL},
    };
    sb_logger lg = {NULL, NULL, SB_LOG_DEBUG};
    sb_store *s = new_store();

    (void)st;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sb_scraper *sc = (sb_scraper *)&lg; /* must be reset to NULL */

        assert_int_equal(sb__scraper_start(s, &bad[i], 1, &lg, &sc), SB_EINVAL);
        assert_null(sc);
    }
    sb_store_destroy(s);
}

/* A target nobody listens on: up 0 lands in the store, stop joins. */
static void test_scraper_writes_up_zero_for_a_dead_target(void **st)
{
    const sb_scrape_target t = {"http://127.0.0.1:1/metrics", 100 * 1000000LL,
                                "dead"};
    const char *kv[] = {"job", "dead", "instance", "127.0.0.1:1"};
    sb_logger lg = {NULL, NULL, SB_LOG_DEBUG};
    sb_store *s = new_store();
    sb_scraper *sc = NULL;
    bool seen = false;

    (void)st;
    assert_int_equal(sb__scraper_start(s, &t, 1, &lg, &sc), 0);
    for (int i = 0; i < 600 && !seen; i++) { /* up to a minute */
        sb_query q;
        sb_result *res = NULL;
        const char *name = "up";

        sb_query_init(&q);
        q.names = &name;
        q.nnames = 1;
        q.latest = true;
        assert_int_equal(sb_store_query(s, &q, &res), 0);
        if (sb_result_point_count(res) == 1) {
            sb_sample p;

            sb_result_get_point(res, 0, &p);
            assert_true(sb_test_labels_equal(&p, kv, 2));
            assert_true(p.value == 0);
            seen = true;
        }
        sb_result_free(res);
        if (!seen)
            nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
    sb__scraper_stop(sc);
    assert_true(seen);
    sb_store_destroy(s);
}

/* ------------------------------------------------------------ options */

static int parse(const char *const *argv, int argc, const char *const *envp,
                 sb_cli_serve *o, char *err)
{
    return sb__cli_parse_serve(argc, (char *const *)(uintptr_t)argv,
                               (char *const *)(uintptr_t)envp, o, err,
                               SB_CLI_ERR_MAX);
}

static void test_scrape_flags_parse(void **st)
{
    const char *argv[] = {"--scrape", "http://a.test:1/m",
                          "--scrape=http://b.test/x?y=1,250ms,node", NULL};
    const char *envp[] = {"SCOREBOARD_SCRAPE=http://c.test/ http://d.test/,1m",
                          NULL};
    char err[SB_CLI_ERR_MAX] = "";
    sb_cli_serve o;

    (void)st;
    assert_int_equal(parse(argv, 3, envp, &o, err), 0);
    assert_int_equal(o.nscrape, 2); /* flags win over the variable */
    assert_string_equal(o.scrape[0].url, "http://a.test:1/m");
    assert_int_equal(o.scrape[0].interval_ns, 0);
    assert_null(o.scrape[0].job);
    assert_string_equal(o.scrape[1].url, "http://b.test/x?y=1");
    assert_int_equal(o.scrape[1].interval_ns, 250 * 1000000LL);
    assert_string_equal(o.scrape[1].job, "node");
    sb__cli_serve_free(&o);

    assert_int_equal(parse(argv, 0, envp, &o, err), 0);
    assert_int_equal(o.nscrape, 2);
    assert_string_equal(o.scrape[0].url, "http://c.test/");
    assert_string_equal(o.scrape[1].url, "http://d.test/");
    assert_int_equal(o.scrape[1].interval_ns, 60 * NS);
    sb__cli_serve_free(&o);
}

static void test_scrape_flags_refuse_bad_values(void **st)
{
    static const char *const bad[] = {
        "ftp://a.test/",         "a.test:9100",
        "http://a.test/,",       "http://a.test/,10",
        "http://a.test/,99ms",   "http://a.test/,1s,",
        "http://a.test/,1s,a b", "http://",
    };
    char err[SB_CLI_ERR_MAX];
    sb_cli_serve o;

    (void)st;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = {"--scrape", bad[i], NULL};

        err[0] = '\0';
        if (parse(argv, 2, NULL, &o, err) != SB_EINVAL ||
            strncmp(err, "--scrape: ", 10) != 0)
            fail_msg("%s: not refused (%s)", bad[i], err);
    }
    {
        const char *envp[] = {"SCOREBOARD_SCRAPE=http://a.test/ gopher://x/",
                              NULL};

        assert_int_equal(parse(NULL, 0, envp, &o, err), SB_EINVAL);
        assert_non_null(strstr(err, "SCOREBOARD_SCRAPE"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrape_url_check),
        cmocka_unit_test(test_scrape_ingest_labels_and_self_series),
        cmocka_unit_test(test_scrape_ingest_failure_stores_nothing),
        cmocka_unit_test(test_scrape_ingest_skips_samples_refused_for_time),
        cmocka_unit_test(test_scrape_ingest_limits_labels_to_leave_room),
        cmocka_unit_test(test_scraper_refuses_bad_targets),
        cmocka_unit_test(test_scraper_writes_up_zero_for_a_dead_target),
        cmocka_unit_test(test_scrape_flags_parse),
        cmocka_unit_test(test_scrape_flags_refuse_bad_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
