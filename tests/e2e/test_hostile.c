/*
 * test_hostile.c - `scoreboard serve` against requests that broke similar
 * servers: HTTP framing tricks spoken over raw sockets, and a store
 * filled to --max-series.
 *
 * Groups, each with its own server:
 *   wire    defaults minus the process/system collectors
 *   uploads --max-body 4096
 *   full    --max-series 30, collectors every 100 ms
 * Raw-socket requests are written in one piece and the answer read until
 * the server closes the connection or goes quiet for a while, so a test
 * sees exactly the bytes a client would.
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static e2e_proc *g_srv;
static uint16_t g_port;
static bool g_group_failed;

/* ------------------------------------------------------------ helpers */

static int start_server(const char *const *extra)
{
    g_srv = e2e_server_start(extra);
    if (g_srv == NULL) {
        g_group_failed = true;
        return -1;
    }
    g_port = e2e_proc_port(g_srv);
    return 0;
}

static int setup_wire(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system", NULL};

    (void)state;
    return start_server(args);
}

static int setup_full(void **state)
{
    static const char *const args[] = {
        "--no-process", "--no-system", "--max-series", "30", "--interval",
        "100ms",        NULL};

    (void)state;
    return start_server(args);
}

static int teardown_server(void **state)
{
    (void)state;
    if (g_srv == NULL)
        return 0;
    if (!e2e_proc_stop_clean(&g_srv)) {
        g_group_failed = true;
        return -1;
    }
    return 0;
}

/*
 * Sends req (len bytes) on a new connection and returns what comes back
 * until the server closes the connection or sends nothing for quiet_ms.
 * The result is malloc'd and NUL-terminated; *n gets its length.
 */
static char *raw_exchange(const char *req, size_t len, int quiet_ms, size_t *n)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(g_port)};
    size_t cap = 1 << 16, got = 0, sent = 0;
    char *out = malloc(cap);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_non_null(out);
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    while (sent < len) {
        ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

        assert_true(w > 0);
        sent += (size_t)w;
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (poll(&p, 1, quiet_ms * e2e_slowdown()) <= 0)
            break;
        if (got + 4096 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        r = recv(fd, out + got, cap - got - 1, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    out[got] = '\0';
    *n = got;
    return out;
}

static void post_ok(const char *body)
{
    char url[256];
    e2e_resp r;

    assert_int_equal(
        e2e_post(e2e_url(url, sizeof url, g_port, "/metrics"), body, &r), 0);
    if (r.status != 204)
        fail_msg("POST %.200s: got %ld: %.300s", body, r.status, r.body);
    e2e_resp_free(&r);
}

/* Number of points GET /metrics?name=name returns. */
static size_t count_points(const char *name)
{
    char url[256], pq[160];
    json_t *j;
    e2e_resp r;
    size_t n;

    snprintf(pq, sizeof pq, "/metrics?name=%s", name);
    assert_int_equal(e2e_get(e2e_url(url, sizeof url, g_port, pq), &r), 0);
    assert_int_equal(r.status, 200);
    j = e2e_resp_json(&r);
    assert_true(json_is_array(j));
    n = json_array_size(j);
    json_decref(j);
    e2e_resp_free(&r);
    return n;
}

/* The status of the first response in raw, or 0. */
static int raw_status(const char *raw)
{
    int status = 0;

    if (sscanf(raw, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    return status;
}

/* Asserts raw is one JSON error response with the given status. */
static void assert_raw_json_error(const char *raw, int status, const char *what)
{
    const char *body = strstr(raw, "\r\n\r\n");
    json_t *j;

    if (raw_status(raw) != status || body == NULL)
        fail_msg("%s: want %d, got: %.400s", what, status, raw);
    j = json_loads(body + 4, JSON_DISABLE_EOF_CHECK, NULL);
    if (j == NULL || !json_is_string(json_object_get(j, "error")))
        fail_msg("%s: body is not {\"error\": ...}: %.300s", what, body + 4);
    json_decref(j);
}

/* ------------------------------------------------------------ wire */

/*
 * HEAD of a /metrics answer too large for one buffer (a streamed, chunked
 * GET) must end with the header block: a stray chunk terminator after it
 * would be read as the start of the next response on the connection.
 */
static void test_head_of_streamed_metrics_sends_no_body(void **state)
{
    static const char req[] =
        "HEAD /metrics?name=head_big HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int64_t base = (e2e_wall_ns() / 1000000000 - 1800) * 1000000000;
    char t[E2E_TIME_MAX], url[256];
    e2e_buf b = {0};
    const char *after;
    char *raw;
    size_t n;
    CURL *h;
    e2e_resp r;

    (void)state;
    /* About 150 KB of JSON: well past one stream chunk (48 KiB). */
    e2e_buf_printf(&b, "[");
    for (int i = 0; i < 2000; i++)
        e2e_buf_printf(
            &b, "%s{\"name\":\"head_big\",\"value\":%d,\"time\":\"%s\"}",
            i ? "," : "", i, e2e_fmt_time(base + (int64_t)i * 1000000, t));
    e2e_buf_printf(&b, "]");
    post_ok(b.data);
    e2e_buf_free(&b);
    assert_int_equal(count_points("head_big"), 2000);

    raw = raw_exchange(req, sizeof req - 1, 1000, &n);
    assert_int_equal(raw_status(raw), 200);
    after = strstr(raw, "\r\n\r\n");
    assert_non_null(after);
    after += 4;
    /* Either the connection was closed after the headers, or the next
     * bytes are the pipelined GET's answer. */
    if (*after != '\0' && strncmp(after, "HTTP/1.1 200", 12) != 0)
        fail_msg("bytes after the HEAD response's headers: %.40s", after);
    free(raw);

    /* The same through libcurl on one handle: the GET after the HEAD
     * must get a clean answer. */
    h = curl_easy_init();
    assert_non_null(h);
    for (int i = 0; i < 2; i++) {
        e2e_req q = {
            .method = i == 0 ? "HEAD" : "GET",
            .url = e2e_url(url, sizeof url, g_port,
                           i == 0 ? "/metrics?name=head_big" : "/healthz"),
            .handle = h};

        assert_int_equal(e2e_http(&q, &r), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, i == 0 ? 0 : 15);
        e2e_resp_free(&r);
    }
    curl_easy_cleanup(h);
}

/*
 * Two Content-Length or Transfer-Encoding headers, or one of each, make
 * the body's end ambiguous (request smuggling through a proxy that reads
 * the other one), and a coding other than chunked leaves it unknown:
 * refused with a JSON 400 at once, nothing stored.
 */
static void test_ambiguous_body_length_is_refused(void **state)
{
    static const char *const reqs[] = {
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n"
        "Content-Length: 29\r\n\r\n{\"name\":\"smuggle\",\"value\":1}",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n"
        "Content-Length: 28\r\n\r\n{\"name\":\"smuggle\",\"value\":1}",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n"
        "Transfer-Encoding: chunked\r\n\r\n1c\r\n"
        "{\"name\":\"smuggle\",\"value\":1}\r\n0\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        "Content-Length: 40\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n1c\r\n"
        "{\"name\":\"smuggle\",\"value\":1}\r\n0\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: x\r\n\r\n1c\r\n"
        "{\"name\":\"smuggle\",\"value\":1}\r\n0\r\n\r\n",
        /* Codings MHD does not decode: it would wait for the client to
         * close the connection to find the body's end. */
        "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
        "chunked\r\n\r\n1c\r\n{\"name\":\"smuggle\",\"value\":1}\r\n0\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
        "\r\n{\"name\":\"smuggle\",\"value\":1}",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
        "\r\n1c\r\n{\"name\":\"smuggle\",\"value\":1}\r\n0\r\n\r\n",
    };
    static const char ok[] =
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n\r\n"
        "{\"name\":\"smuggle\",\"value\":1}";
    char *raw;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        char what[32];

        snprintf(what, sizeof what, "request %zu", i);
        raw = raw_exchange(reqs[i], strlen(reqs[i]), 1000, &n);
        assert_raw_json_error(raw, 400, what);
        free(raw);
    }
    assert_int_equal(count_points("smuggle"), 0);

    /* A single Content-Length still works. */
    raw = raw_exchange(ok, sizeof ok - 1, 1000, &n);
    assert_int_equal(raw_status(raw), 204);
    free(raw);
    assert_int_equal(count_points("smuggle"), 1);
}

/* A connected socket to the server, or -1. */
static int connect_server(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(g_port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/*
 * 2,000 clients that connect and send nothing (or half a request line)
 * must not keep /healthz from being answered: the server's connection
 * limit used to be 1,024, past which new clients waited in the backlog
 * until the idle ones timed out after 30 s.
 */
static void test_idle_connections_do_not_block_others(void **state)
{
    enum { IDLE = 2000 };
    static int fds[IDLE];
    struct rlimit rl;
    char url[256];
    e2e_resp r;
    int n = 0;

    (void)state;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
        (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 4096))
        skip(); /* neither this binary nor the server could hold them */
    if (rl.rlim_cur < 4096) {
        rl.rlim_cur = 4096;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    for (; n < IDLE; n++) {
        fds[n] = connect_server();
        if (fds[n] < 0)
            fail_msg("connection %d failed", n);
        if (n % 2 == 1)
            assert_true(send(fds[n], "GET /hea", 8, MSG_NOSIGNAL) == 8);
    }
    {
        e2e_req q = {.url = e2e_url(url, sizeof url, g_port, "/healthz"),
                     .timeout_ms = 10000 * e2e_slowdown()};

        if (e2e_http(&q, &r) != 0)
            fail_msg("GET /healthz beside %d idle connections: %s", IDLE,
                     curl_easy_strerror(r.curl_rc));
        assert_int_equal(r.status, 200);
        e2e_resp_free(&r);
    }
    while (n-- > 0)
        close(fds[n]);
}

/* ------------------------------------------------------------ uploads */

static int setup_uploads(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system",
                                       "--max-body", "4096", NULL};

    (void)state;
    return start_server(args);
}

/* Reads one response's status and body from fd (until quiet or EOF). */
static int read_status(int fd, char *out, size_t n)
{
    size_t got = 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (got + 1 >= n || poll(&p, 1, 2000 * e2e_slowdown()) <= 0)
            break;
        r = recv(fd, out + got, n - got - 1, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        out[got] = '\0';
        if (strstr(out, "\r\n\r\n") != NULL &&
            (strstr(out, "204 No Content") != NULL || strchr(out, '}')))
            break;
    }
    out[got] = '\0';
    return raw_status(out);
}

/*
 * Clients that send most of a body and then stall must not make the
 * server hold max-body bytes for each of up to 16,384 connections: past
 * 64 bodies' worth (here 64 x 4096 bytes) in progress, an upload is
 * dropped and answered 503 at its end, and the budget frees again as
 * uploads end.
 */
static void test_stalled_uploads_share_a_budget(void **state)
{
    enum { N = 80, BODY = 4096, FIRST = 4000 };
    static const char point[] = "{\"name\":\"upl\",\"value\":1}";
    static char body[BODY];
    char head[128], resp[2048];
    int fds[N], ok = 0, busy = 0;

    (void)state;
    memset(body, ' ', sizeof body);
    memcpy(body, point, sizeof point - 1);
    snprintf(head, sizeof head,
             "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
             "\r\n",
             BODY);
    for (int i = 0; i < N; i++) {
        fds[i] = connect_server();
        assert_true(fds[i] >= 0);
        assert_true(send(fds[i], head, strlen(head), MSG_NOSIGNAL) ==
                    (ssize_t)strlen(head));
        assert_true(send(fds[i], body, FIRST, MSG_NOSIGNAL) == FIRST);
    }
    e2e_sleep_ms(1000 * e2e_slowdown()); /* let the server read them all */
    for (int i = 0; i < N; i++) {
        int st;

        assert_true(send(fds[i], body + FIRST, BODY - FIRST, MSG_NOSIGNAL) ==
                    BODY - FIRST);
        st = read_status(fds[i], resp, sizeof resp);
        if (st == 204)
            ok++;
        else if (st == 503)
            assert_raw_json_error(resp, 503, "upload past the budget");
        else
            fail_msg("upload %d: %.300s", i, resp);
        busy += st == 503;
        close(fds[i]);
    }
    if (busy == 0)
        fail_msg("%d stalled uploads of %d bytes were all held at once", N,
                 FIRST);
    assert_true(ok >= 1);
    assert_int_equal(count_points("upl"), (size_t)ok);

    /* Every upload has ended: the whole budget is free again. */
    post_ok("{\"name\":\"upl_after\",\"value\":1}");
}

/* ------------------------------------------------------------ full */

/* The latest value of scoreboard_http_requests_total for GET /healthz
 * 200, or -1 when there is none. */
static double healthz_count(void)
{
    char url[256];
    double v = -1;
    json_t *j, *pt;
    e2e_resp r;
    size_t i;

    assert_int_equal(
        e2e_get(e2e_url(url, sizeof url, g_port,
                        "/metrics?name=scoreboard_http_requests_total&latest"),
                &r),
        0);
    assert_int_equal(r.status, 200);
    j = e2e_resp_json(&r);
    json_array_foreach(j, i, pt)
    {
        json_t *l = json_object_get(pt, "labels");

        if (strcmp(json_string_value(json_object_get(l, "route")),
                   "/healthz") == 0 &&
            strcmp(json_string_value(json_object_get(l, "method")), "GET") ==
                0 &&
            strcmp(json_string_value(json_object_get(l, "code")), "200") == 0)
            v = json_number_value(json_object_get(pt, "value"));
    }
    json_decref(j);
    e2e_resp_free(&r);
    return v;
}

static void get_status(const char *pq, long status)
{
    char url[256];
    e2e_resp r;

    assert_int_equal(e2e_get(e2e_url(url, sizeof url, g_port, pq), &r), 0);
    assert_int_equal(r.status, status);
    e2e_resp_free(&r);
}

/* Polls until healthz_count() reaches want; returns the last value. */
static double wait_healthz_count(double want)
{
    int64_t deadline = e2e_now_ms() + 10000 * e2e_slowdown();
    double v;

    while ((v = healthz_count()) < want && e2e_now_ms() < deadline)
        e2e_sleep_ms(50);
    return v;
}

/*
 * Once the store holds --max-series series, a request that would add a
 * series of the server's own (a first 404) must not stop the request
 * counters that already exist from being updated.
 */
static void test_full_store_keeps_own_series_updated(void **state)
{
    char body[128], url[256];
    bool refused = false;
    e2e_resp r;
    double v;

    (void)state;
    for (int i = 0; i < 3; i++)
        get_status("/healthz", 200);
    v = wait_healthz_count(3);
    if (v < 3)
        fail_msg("GET /healthz never counted: %g", v);

    for (int i = 0; i < 100 && !refused; i++) {
        snprintf(body, sizeof body, "{\"name\":\"full_%d\",\"value\":1}", i);
        assert_int_equal(
            e2e_post(e2e_url(url, sizeof url, g_port, "/metrics"), body, &r),
            0);
        refused = r.status == 400;
        e2e_resp_free(&r);
    }
    assert_true(refused);

    get_status("/no-such-path", 404); /* a series the store has no room for */
    for (int i = 0; i < 5; i++)
        get_status("/healthz", 200);
    v = wait_healthz_count(8);
    if (v < 8)
        fail_msg("the /healthz counter stopped at %g once the store was "
                 "full (want 8)",
                 v);
}

int main(void)
{
    const struct CMUnitTest wire[] = {
        cmocka_unit_test(test_head_of_streamed_metrics_sends_no_body),
        cmocka_unit_test(test_ambiguous_body_length_is_refused),
        cmocka_unit_test(test_idle_connections_do_not_block_others),
    };
    const struct CMUnitTest uploads[] = {
        cmocka_unit_test(test_stalled_uploads_share_a_budget),
    };
    const struct CMUnitTest full[] = {
        cmocka_unit_test(test_full_store_keeps_own_series_updated),
    };
    int failed = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed +=
        cmocka_run_group_tests_name("wire", wire, setup_wire, teardown_server);
    failed += cmocka_run_group_tests_name("uploads", uploads, setup_uploads,
                                          teardown_server);
    failed +=
        cmocka_run_group_tests_name("full", full, setup_full, teardown_server);
    e2e_proc_free_all(NULL);
    curl_global_cleanup();
    return failed != 0 || g_group_failed;
}
