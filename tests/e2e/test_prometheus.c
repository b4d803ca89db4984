/*
 * test_prometheus.c - the Prometheus side of `scoreboard serve`, end to
 * end with the real binary: GET /metrics content negotiation (Accept
 * with q-values, ?format=, Vary: Accept), the text format body and its
 * refusals, gzip of the text body, and --scrape: one scoreboard scraping
 * another's exposition (job/instance labels, up, scrape_* series), a
 * failing target (up 0) and bad --scrape values refused at startup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/support/http.h"
#include "e2e/support/proc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

static e2e_proc *g_srv;
static uint16_t g_port;

static void get(const char *pq, const char *accept, bool gzip, e2e_resp *r)
{
    char url[1024], hdr[512];
    const char *headers[] = {hdr, NULL};
    e2e_req req = {.url = e2e_url(url, sizeof url, g_port, pq),
                   .headers = accept ? headers : NULL,
                   .decode_gzip = gzip};

    snprintf(hdr, sizeof hdr, "Accept: %s", accept ? accept : "");
    if (e2e_http(&req, r) != 0)
        fail_msg("GET %s: transport error", pq);
}

static void post(const char *body)
{
    char url[256];
    e2e_resp r;

    assert_int_equal(
        e2e_post(e2e_url(url, sizeof url, g_port, "/metrics"), body, &r), 0);
    if (r.status != 204)
        fail_msg("POST: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
}

static int setup(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system", NULL};
    char body[512];

    (void)state;
    g_srv = e2e_server_start(args);
    if (g_srv == NULL)
        return -1;
    g_port = e2e_proc_port(g_srv);
    snprintf(body, sizeof body,
             "[{\"name\":\"prom_e2e.temp\",\"value\":21.5,"
             "\"labels\":{\"room\":\"a \\\"b\\\"\\n\"}},"
             "{\"name\":\"prom_e2e_jobs_total\",\"value\":\"NaN\"},"
             "{\"name\":\"prom_e2e_old\",\"value\":1,\"time\":%lld}]",
             (long long)(e2e_wall_ns() / 1000000000 - 1200));
    post(body);
    return 0;
}

/* Stops the server; it must exit 0 (a sanitizer report would not). */
static int teardown(void **state)
{
    (void)state;
    if (g_srv == NULL) {
        e2e_proc_free_all(NULL);
        return -1; /* the setup failed */
    }
    return e2e_proc_stop_clean(&g_srv) ? 0 : -1;
}

typedef struct neg_case {
    const char *accept; /* NULL: no Accept header */
    bool prom;
} neg_case;

static void test_accept_header_selects_the_format(void **state)
{
    static const neg_case cases[] = {
        {NULL, false},
        {"text/plain", true},
        {"text/plain;version=0.0.4;q=0.5, application/json", false},
        {"application/openmetrics-text;version=1.0.0,application/"
         "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0."
         "5,*/*;q=0.1",
         true},
        {"application/openmetrics-text", true},
        {"*/*", false},
        {"application/json;q=0.1, text/*", true},
        {"text/*;q=0.9, */*", false},
        {"application/json, text/plain", false}, /* a tie keeps JSON */
        {"image/png", false},
        {"text/plain;q=0", false},
        {"garbage;;;, text/plain", true},
    };
    char ctype[128], vary[128];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        e2e_resp r;

        get("/metrics?name=prom_e2e_jobs_total", cases[i].accept, false, &r);
        assert_int_equal(r.status, 200);
        assert_true(e2e_resp_header(&r, "Content-Type", ctype, sizeof ctype));
        if (strcmp(ctype, cases[i].prom ? PROM_TYPE : "application/json"))
            fail_msg("case %zu (%s): Content-Type %s", i, cases[i].accept,
                     ctype);
        assert_true(e2e_resp_header(&r, "Vary", vary, sizeof vary));
        assert_string_equal(vary, "Accept-Encoding, Accept");
        if (cases[i].prom)
            assert_string_equal(r.body,
                                "# HELP prom_e2e_jobs_total Series stored in "
                                "scoreboard.\n# TYPE prom_e2e_jobs_total "
                                "counter\nprom_e2e_jobs_total NaN\n");
        else
            assert_int_equal(r.body[0], '[');
        e2e_resp_free(&r);
    }
}

static void test_format_parameter_overrides_accept(void **state)
{
    char ctype[128], vary[128];
    e2e_resp r;

    (void)state;
    get("/metrics?format=prometheus&name=prom_e2e.temp", "application/json",
        false, &r);
    assert_int_equal(r.status, 200);
    assert_true(e2e_resp_header(&r, "Content-Type", ctype, sizeof ctype));
    assert_string_equal(ctype, PROM_TYPE);
    assert_true(e2e_resp_header(&r, "Vary", vary, sizeof vary));
    assert_null(strstr(vary, "Accept,"));
    assert_string_equal(vary, "Accept-Encoding");
    assert_string_equal(r.body,
                        "# HELP prom_e2e_temp Series stored in "
                        "scoreboard.\n# TYPE prom_e2e_temp gauge\n"
                        "prom_e2e_temp{room=\"a \\\"b\\\"\\n\"} 21.5\n");
    e2e_resp_free(&r);

    get("/metrics?format=json&name=prom_e2e.temp", "text/plain", false, &r);
    assert_int_equal(r.status, 200);
    assert_true(e2e_resp_header(&r, "Content-Type", ctype, sizeof ctype));
    assert_string_equal(ctype, "application/json");
    e2e_resp_free(&r);
}

static void test_prometheus_format_honours_since_and_names(void **state)
{
    e2e_resp r;

    (void)state;
    get("/metrics?format=prometheus&since=-10m&name=prom_e2e_old&name=prom_"
        "e2e_jobs_total",
        NULL, false, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "prom_e2e_jobs_total NaN\n"));
    assert_null(strstr(r.body, "prom_e2e_old"));
    e2e_resp_free(&r);
    get("/metrics?format=prometheus&latest=true&name=prom_e2e_old", NULL, false,
        &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\nprom_e2e_old 1\n"));
    e2e_resp_free(&r);
}

static void test_prometheus_format_refusals(void **state)
{
    static const char *const bad[] = {
        "/metrics?format=xml",
        "/metrics?format=",
        "/metrics?format=json&format=prometheus",
        "/metrics?format=prometheus&limit=5",
        "/metrics?format=prometheus&latest=false",
        "/api/v1/series?format=prometheus",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e2e_resp r;

        get(bad[i], NULL, false, &r);
        if (r.status != 400 || strncmp(r.body, "{\"error\":", 9) != 0)
            fail_msg("%s: %ld %s", bad[i], r.status, r.body);
        e2e_resp_free(&r);
    }
}

static void test_prometheus_body_is_gzipped_when_accepted(void **state)
{
    char body[64 * 1024], ctype[128], enc[64];
    size_t at = 0;
    e2e_resp r;

    (void)state;
    at += (size_t)snprintf(body, sizeof body, "[");
    for (int i = 0; i < 300; i++)
        at += (size_t)snprintf(body + at, sizeof body - at,
                               "%s{\"name\":\"prom_e2e_gz\",\"value\":%d,"
                               "\"labels\":{\"i\":\"%d\"}}",
                               i ? "," : "", i, i);
    snprintf(body + at, sizeof body - at, "]");
    post(body);
    get("/metrics?name=prom_e2e_gz", "text/plain", true, &r);
    assert_int_equal(r.status, 200);
    assert_true(e2e_resp_header(&r, "Content-Encoding", enc, sizeof enc));
    assert_string_equal(enc, "gzip");
    assert_true(e2e_resp_header(&r, "Content-Type", ctype, sizeof ctype));
    assert_string_equal(ctype, PROM_TYPE);
    assert_non_null(strstr(r.body, "\nprom_e2e_gz{i=\"299\"} 299\n"));
    assert_non_null(strstr(r.body, "# TYPE prom_e2e_gz gauge\n"));
    assert_null(strstr(strstr(r.body, "# TYPE") + 1, "# TYPE"));
    e2e_resp_free(&r);
}

/* ------------------------------------------------------------ scraping */

/* Polls the scraper's GET pq until its body contains needle. */
static bool poll_body(uint16_t port, const char *pq, const char *needle)
{
    for (int i = 0; i < 200 * e2e_slowdown(); i++) {
        char url[512];
        e2e_resp r;
        bool hit;

        if (e2e_get(e2e_url(url, sizeof url, port, pq), &r) != 0) {
            e2e_resp_free(&r);
            return false;
        }
        hit = r.status == 200 && strstr(r.body, needle) != NULL;
        e2e_resp_free(&r);
        if (hit)
            return true;
        e2e_sleep_ms(100);
    }
    return false;
}

static void test_scrape_pulls_another_scoreboard(void **state)
{
    char target[128], bad[128], want[256];
    const char *args[] = {"--no-process", "--no-system", "--scrape", target,
                          "--scrape",     bad,           NULL};
    e2e_proc *scraper;
    uint16_t port;
    int status = 0;

    (void)state;
    snprintf(target, sizeof target,
             "http://127.0.0.1:%u/metrics?format=prometheus,200ms,peer",
             (unsigned)g_port);
    snprintf(bad, sizeof bad, "http://127.0.0.1:%u/nope,200ms",
             (unsigned)g_port);
    scraper = e2e_server_start(args);
    assert_non_null(scraper);
    port = e2e_proc_port(scraper);

    snprintf(want, sizeof want,
             "\"name\":\"prom_e2e_temp\",\"labels\":{\"instance\":\"127.0.0."
             "1:%u\",\"job\":\"peer\",\"room\":\"a \\\"b\\\"\\n\"},"
             "\"value\":21.5",
             (unsigned)g_port);
    assert_true(
        poll_body(port, "/metrics?name=prom_e2e_temp&latest=true", want));
    assert_true(poll_body(port, "/metrics?name=up&latest=true",
                          "\"job\":\"peer\"},\"value\":1"));
    assert_true(poll_body(port, "/metrics?name=up&latest=true",
                          "\"job\":\"scrape\"},\"value\":0"));
    assert_true(poll_body(port, "/metrics?name=scrape_samples_scraped",
                          "\"job\":\"peer\"}"));
    assert_true(e2e_proc_wait_stderr(scraper, "scrape_failed", 10000));
    assert_true(e2e_proc_wait_stderr(scraper, "HTTP status 404", 10000));
    assert_int_equal(
        e2e_proc_stop(scraper, SIGTERM, 10000 * e2e_slowdown(), &status, NULL),
        0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    e2e_proc_free(scraper);
}

/* A target that accepts connections (the kernel's backlog does) and
 * never answers: SIGTERM must still stop the scraper, its transfer
 * aborted, and the process exit 0. */
static void test_scrape_of_a_stalled_target_stops_on_sigterm(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
    char target[128];
    const char *args[] = {"--no-process", "--no-system", "--scrape", target,
                          NULL};
    e2e_proc *scraper;

    (void)state;
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(target, sizeof target, "http://127.0.0.1:%u/metrics,5s",
             (unsigned)ntohs(sa.sin_port));
    scraper = e2e_server_start(args);
    assert_non_null(scraper);
    e2e_sleep_ms(300); /* the first scrape is waiting for an answer */
    assert_int_equal(
        e2e_proc_stop(scraper, SIGTERM, 10000 * e2e_slowdown(), &status, NULL),
        0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    e2e_proc_free(scraper);
    close(fd);
}

/* A target answering 200 and 500 by turns, one connection at a time. */
typedef struct flapper {
    int fd;
    atomic_bool stop;
    pthread_t thread;
} flapper;

static void *flapper_main(void *arg)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
                             "Connection: close\r\n\r\nf 1\n";
    static const char bad[] = "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n";
    flapper *f = arg;
    unsigned n = 0;

    while (!atomic_load(&f->stop)) {
        char req[4096];
        int c = accept(f->fd, NULL, NULL);

        if (c < 0)
            continue;
        (void)read(c, req, sizeof req); /* the request fits one read */
        if (n++ % 2 == 0)
            (void)write(c, ok, sizeof ok - 1);
        else
            (void)write(c, bad, sizeof bad - 1);
        close(c);
    }
    return NULL;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The points of up{job="flap"} the scraper holds (0 when unknown). */
static long up_points(uint16_t port)
{
    char url[256];
    const char *p;
    e2e_resp r;
    long n = 0;

    if (e2e_get(e2e_url(url, sizeof url, port,
                        "/api/v1/series?name=up&match=job%3Dflap"),
                &r) == 0 &&
        r.status == 200 && (p = strstr(r.body, "\"points\":")) != NULL)
        n = strtol(p + strlen("\"points\":"), NULL, 10);
    e2e_resp_free(&r);
    return n;
}

/* A target that is up and down by turns changes state at every scrape:
 * the log lines about it stay rate-limited (at most 10 changes a minute
 * are logged, and one failure a minute besides). */
static void test_flapping_target_does_not_flood_the_log(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    flapper f = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    char target[128], *err;
    const char *args[] = {"--no-process", "--no-system", "--scrape", target,
                          NULL};
    e2e_proc *scraper;
    int status = 0;
    long points = 0;
    int64_t start = e2e_now_ms();
    size_t windows; /* minutes of rate limit the run spanned */

    (void)state;
    assert_true(f.fd >= 0);
    atomic_init(&f.stop, false);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f.fd, 8), 0);
    assert_int_equal(getsockname(f.fd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(pthread_create(&f.thread, NULL, flapper_main, &f), 0);
    snprintf(target, sizeof target, "http://127.0.0.1:%u/metrics,100ms,flap",
             (unsigned)ntohs(sa.sin_port));
    scraper = e2e_server_start(args);
    assert_non_null(scraper);
    /* 40 scrapes: 40 changes of state. */
    for (int i = 0; i < 600 * e2e_slowdown() && points < 40; i++) {
        e2e_sleep_ms(100);
        points = up_points(e2e_proc_port(scraper));
    }
    assert_true(points >= 40);
    assert_int_equal(
        e2e_proc_stop(scraper, SIGTERM, 10000 * e2e_slowdown(), &status, NULL),
        0);
    windows = (size_t)((e2e_now_ms() - start) / 60000) + 1;
    err = e2e_proc_stderr(scraper);
    assert_non_null(err);
    if (count_of(err, "scrape_failed") > 11 * windows ||
        count_of(err, "scrape_up") > 10 * windows)
        fail_msg("%zu scrape_failed and %zu scrape_up lines for %ld scrapes",
                 count_of(err, "scrape_failed"), count_of(err, "scrape_up"),
                 points);
    assert_true(count_of(err, "scrape_failed") >= 1);
    assert_true(count_of(err, "scrape_up") >= 1);
    free(err);
    e2e_proc_free(scraper);
    atomic_store(&f.stop, true);
    shutdown(f.fd, SHUT_RDWR);
    pthread_join(f.thread, NULL);
    close(f.fd);
}

static void test_bad_scrape_flags_are_usage_errors(void **state)
{
    static const char *const bad[] = {
        "ftp://127.0.0.1/metrics",
        "http://",
        "http://127.0.0.1:1/,10",
        "http://127.0.0.1:1/,50ms",
        "http://127.0.0.1:1/,1s,",
        "http://127.0.0.1:1/,1s,a b",
        "/metrics",
    };
    const char *bin = e2e_env_path("SB_BINARY");

    (void)state;
    assert_non_null(bin);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = {bin, "serve", "--scrape", bad[i], NULL};
        char *out = NULL, *err = NULL;
        int status = 0;

        assert_int_equal(e2e_run(bin, argv, 10000, &status, &out, &err), 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 ||
            strstr(err, "--scrape") == NULL)
            fail_msg("%s: status %d, stderr %s", bad[i], status, err);
        free(out);
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_header_selects_the_format),
        cmocka_unit_test(test_format_parameter_overrides_accept),
        cmocka_unit_test(test_prometheus_format_honours_since_and_names),
        cmocka_unit_test(test_prometheus_format_refusals),
        cmocka_unit_test(test_prometheus_body_is_gzipped_when_accepted),
        cmocka_unit_test(test_scrape_pulls_another_scoreboard),
        cmocka_unit_test(test_scrape_of_a_stalled_target_stops_on_sigterm),
        cmocka_unit_test(test_flapping_target_does_not_flood_the_log),
        cmocka_unit_test(test_bad_scrape_flags_are_usage_errors),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
