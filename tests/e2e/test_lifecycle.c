/*
 * test_lifecycle.c - the scoreboard binary as a process: collectors,
 * request metrics, signals and shutdown, the push/version commands, exit
 * codes, and the toy example service.
 *
 * Every test starts its own child processes; the per-test teardown kills
 * whatever is left (proc.c), so a failed assertion leaks no server.
 * Waits poll with a deadline; deadlines grow under sanitizers
 * (e2e_slowdown()), except that a clean stop must stay within about a
 * second even there.
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

/* ------------------------------------------------------------ helpers */

/* How long a signalled server may take to exit: 1 s, with a little slack
 * for sanitizer runtimes that do their own work at exit. */
static long stop_limit_ms(void)
{
    return 1000 + (e2e_slowdown() - 1) * 500L;
}

static const char *bin(void)
{
    const char *b = e2e_env_path("SB_BINARY");

    if (b == NULL)
        fail_msg("SB_BINARY is not set (run through ctest)");
    return b;
}

static e2e_proc *server(const char *const *extra)
{
    e2e_proc *p = e2e_server_start(extra);

    if (p == NULL)
        fail_msg("server did not start");
    return p;
}

static json_t *get_json(uint16_t port, const char *pq)
{
    char url[1024];
    e2e_resp r;
    json_t *j;

    if (e2e_get(e2e_url(url, sizeof(url), port, pq), &r) != 0 ||
        r.status != 200)
        fail_msg("GET %s: status %ld (%s): %.200s", pq, r.status,
                 curl_easy_strerror(r.curl_rc), r.body);
    j = e2e_resp_json(&r);
    e2e_resp_free(&r);
    if (!json_is_array(j))
        fail_msg("GET %s: not a JSON array", pq);
    return j;
}

static long http_status(uint16_t port, const char *method, const char *pq,
                        const char *body)
{
    char url[1024];
    e2e_req req = {.method = method,
                   .url = e2e_url(url, sizeof(url), port, pq),
                   .body = body,
                   .body_len = body ? strlen(body) : 0};
    e2e_resp r;
    long status;

    if (e2e_http(&req, &r) != 0)
        fail_msg("%s %s: %s", method, pq, curl_easy_strerror(r.curl_rc));
    status = r.status;
    e2e_resp_free(&r);
    return status;
}

/* True when arr (from /api/v1/series or /metrics) has an element whose
 * "name" is name. */
static bool has_name(const json_t *arr, const char *name)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
            return true;
    }
    return false;
}

/* The first element named name whose labels include every key=value in
 * kv (NULL-terminated pairs), or NULL. */
static json_t *find_series(const json_t *arr, const char *name,
                           const char *const *kv)
{
    size_t i;
    json_t *e, *labels;
    bool match;

    json_array_foreach(arr, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) != 0)
            continue;
        labels = json_object_get(e, "labels");
        match = true;
        for (size_t k = 0; kv != NULL && kv[k] != NULL; k += 2) {
            const char *v = json_string_value(json_object_get(labels, kv[k]));
            if (v == NULL || (kv[k + 1] != NULL && strcmp(v, kv[k + 1]) != 0))
                match = false;
        }
        if (match)
            return e;
    }
    return NULL;
}

static double num(const json_t *pt)
{
    const json_t *v = json_object_get(pt, "value");

    if (!json_is_number(v))
        fail_msg("value is not a number");
    return json_number_value(v);
}

/* Sends sig, expects exit 0 within stop_limit_ms() and the two log lines.
 */
static void stop_and_check(e2e_proc *p, int sig, const char *signame)
{
    char want[64];
    long elapsed = 0;
    int status = 0;
    char *log;

    if (e2e_proc_stop(p, sig, 10000 * e2e_slowdown(), &status, &elapsed) != 0)
        fail_msg("%s: server still running after 10 s", signame);
    snprintf(want, sizeof(want), "shutting down signal=%s", signame);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        elapsed > stop_limit_ms() || !e2e_proc_wait_stderr(p, want, 2000) ||
        !e2e_proc_wait_stderr(p, "stopped", 2000)) {
        log = e2e_proc_stderr(p);
        fail_msg("%s: status %s %d after %ld ms (limit %ld); want exit 0 "
                 "and lines '%s', 'stopped'; stderr:\n%.3000s",
                 signame, WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                 elapsed, stop_limit_ms(), want, log);
    }
    print_message("    %s: exit 0 after %ld ms\n", signame, elapsed);
}

/* --------------------------------------------------------- collectors */

static void test_collector_series_appear_within_2s(void **state)
{
    static const char *const names[] = {
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_threads",
        "system_cpu_usage_percent",
        "system_memory_total_bytes",
        "system_memory_available_bytes",
        "system_load1",
        "system_load5",
        "system_load15",
    };
    size_t n = sizeof(names) / sizeof(names[0]), missing = n;
    int64_t t0 = e2e_now_ms(), deadline = t0 + 2000L * e2e_slowdown();
    e2e_proc *p = server(NULL);
    json_t *arr = NULL;

    (void)state;
    while (missing > 0 && e2e_now_ms() < deadline) {
        e2e_sleep_ms(50);
        json_decref(arr);
        arr = get_json(e2e_proc_port(p), "/metrics?latest=true");
        missing = 0;
        for (size_t i = 0; i < n; i++)
            missing += !has_name(arr, names[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (!has_name(arr, names[i]))
            print_error("missing after %lld ms: %s\n",
                        (long long)(e2e_now_ms() - t0), names[i]);
    }
    assert_int_equal(missing, 0);

    /* Plausible values. */
    assert_true(num(find_series(arr, "process_resident_memory_bytes", NULL)) >
                1e5);
    assert_true(num(find_series(arr, "process_open_fds", NULL)) >= 3);
    assert_true(num(find_series(arr, "process_threads", NULL)) >= 2);
    assert_true(num(find_series(arr, "process_cpu_seconds_total", NULL)) >= 0);
    assert_true(num(find_series(arr, "system_memory_total_bytes", NULL)) >=
                num(find_series(arr, "system_memory_available_bytes", NULL)));
    assert_true(num(find_series(arr, "system_memory_available_bytes", NULL)) >
                0);
    assert_true(num(find_series(arr, "system_cpu_usage_percent", NULL)) >= 0 &&
                num(find_series(arr, "system_cpu_usage_percent", NULL)) <= 100);
    assert_true(num(find_series(arr, "system_load1", NULL)) >= 0);
    json_decref(arr);
    stop_and_check(p, SIGTERM, "SIGTERM");
}

static void test_no_process_no_system_flags(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system",
                                       "--interval", "100ms", NULL};
    e2e_proc *p = server(args);
    int64_t deadline = e2e_now_ms() + 3000L * e2e_slowdown();
    json_t *arr = NULL;
    size_t i;
    json_t *s;
    const char *name;

    (void)state;
    /* Wait until several ticks have happened. */
    do {
        e2e_sleep_ms(50);
        json_decref(arr);
        arr = get_json(e2e_proc_port(p), "/metrics?name=scoreboard_store_"
                                         "series");
    } while (json_array_size(arr) < 3 && e2e_now_ms() < deadline);
    assert_true(json_array_size(arr) >= 3);
    json_decref(arr);

    arr = get_json(e2e_proc_port(p), "/api/v1/series");
    json_array_foreach(arr, i, s)
    {
        name = json_string_value(json_object_get(s, "name"));
        if (strncmp(name, "process_", 8) == 0 ||
            strncmp(name, "system_", 7) == 0)
            fail_msg("series %s despite --no-process --no-system", name);
    }
    json_decref(arr);
    stop_and_check(p, SIGTERM, "SIGTERM");
}

/* Waits until the request counters show every request the test made: a
 * request is counted when the server finishes it, which may be after the
 * client has read the reply, so no counter can be assumed present. */
static json_t *wait_request_metrics(uint16_t port)
{
    static const char *const healthz[] = {"route", "/healthz", "method", "GET",
                                          "code",  "200",      NULL};
    static const char *const unmatched[] = {"route", "unmatched", "code", "404",
                                            NULL};
    static const char *const bad_post[] = {
        "route", "/metrics", "method", "POST", "code", "400", NULL};
    static const char *const series[] = {"route", "/api/v1/series", "code",
                                         "200", NULL};
    static const char *const wrong_method[] = {"route", "/metrics", "code",
                                               "405", NULL};
    int64_t deadline = e2e_now_ms() + 4000L * e2e_slowdown();
    json_t *arr = NULL;
    json_t *h;

    for (;;) {
        json_decref(arr);
        arr = get_json(port, "/metrics?latest=true");
        h = find_series(arr, "scoreboard_http_requests_total", healthz);
        if (h != NULL && num(h) >= 3 &&
            find_series(arr, "scoreboard_http_requests_total", unmatched) &&
            find_series(arr, "scoreboard_http_requests_total", bad_post) &&
            find_series(arr, "scoreboard_http_requests_total", series) &&
            find_series(arr, "scoreboard_http_requests_total", wrong_method))
            return arr;
        if (e2e_now_ms() >= deadline)
            fail_msg("request counters incomplete after traffic: %.2000s",
                     json_dumps(arr, JSON_COMPACT));
        e2e_sleep_ms(50);
    }
}

static void test_request_metrics_after_traffic(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system",
                                       "--interval", "200ms", NULL};
    static const char *const route_h[] = {"route", "/healthz", NULL};
    static const char *const quant_h[] = {"route", "/healthz", "quantile", NULL,
                                          NULL};
    e2e_proc *p = server(args);
    uint16_t port = e2e_proc_port(p);
    json_t *arr, *s;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(http_status(port, "GET", "/healthz", NULL), 200);
    assert_int_equal(http_status(port, "GET", "/api/v1/series", NULL), 200);
    assert_int_equal(http_status(port, "GET", "/nope", NULL), 404);
    assert_int_equal(http_status(port, "POST", "/metrics", "{"), 400);
    assert_int_equal(http_status(port, "DELETE", "/metrics", NULL), 405);

    arr = wait_request_metrics(port);
    s = find_series(arr, "scoreboard_http_request_duration_seconds_count",
                    route_h);
    assert_non_null(s);
    assert_true(num(s) >= 3);
    s = find_series(arr, "scoreboard_http_request_duration_seconds_sum",
                    route_h);
    assert_non_null(s);
    assert_true(num(s) > 0);
    assert_non_null(find_series(
        arr, "scoreboard_http_request_duration_seconds_max", route_h));
    assert_non_null(
        find_series(arr, "scoreboard_http_request_duration_seconds", quant_h));
    s = find_series(arr, "scoreboard_store_series", NULL);
    assert_non_null(s);
    assert_true(num(s) >= 1);
    s = find_series(arr, "scoreboard_store_points", NULL);
    assert_non_null(s);
    assert_true(num(s) >= 1);
    json_decref(arr);
    stop_and_check(p, SIGTERM, "SIGTERM");
}

static void test_access_log_flag_logs_requests(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system",
                                       "--access-log", NULL};
    e2e_proc *p = server(args);

    (void)state;
    assert_int_equal(http_status(e2e_proc_port(p), "GET", "/healthz", NULL),
                     200);
    assert_true(e2e_proc_wait_stderr(p, "/healthz", 3000));
    stop_and_check(p, SIGINT, "SIGINT");
}

/* ------------------------------------------------------------ signals */

static void test_sigterm_exits_0_within_1s(void **state)
{
    e2e_proc *p = server(NULL);

    (void)state;
    assert_int_equal(http_status(e2e_proc_port(p), "GET", "/healthz", NULL),
                     200);
    stop_and_check(p, SIGTERM, "SIGTERM");
}

static void test_sigint_exits_0_within_1s(void **state)
{
    e2e_proc *p = server(NULL);

    (void)state;
    assert_int_equal(http_status(e2e_proc_port(p), "GET", "/metrics", NULL),
                     200);
    stop_and_check(p, SIGINT, "SIGINT");
}

static void test_sigterm_with_idle_keepalive_connection(void **state)
{
    e2e_proc *p = server(NULL);
    CURL *h = curl_easy_init();
    char url[256];
    e2e_req req = {.url =
                       e2e_url(url, sizeof(url), e2e_proc_port(p), "/healthz"),
                   .handle = h};
    e2e_resp r;

    (void)state;
    assert_non_null(h);
    assert_int_equal(e2e_http(&req, &r), 0);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    /* The connection stays open in h's cache while the server stops. */
    stop_and_check(p, SIGTERM, "SIGTERM");
    curl_easy_cleanup(h);
}

typedef struct slow_reader {
    char url[256];
    _Atomic size_t received;
    _Atomic bool abort; /* set by the test: stop reading */
    _Atomic bool done;
    CURLcode rc;
} slow_reader;

/* Counts bytes. Returning short aborts the transfer once the test is done
 * with it: the kernel still buffers megabytes the server wrote before it
 * exited, which would take minutes to drain at the throttled speed. */
static size_t slow_write(char *data, size_t size, size_t nmemb, void *ud)
{
    slow_reader *s = ud;

    (void)data;
    if (atomic_load(&s->abort))
        return 0;
    atomic_fetch_add(&s->received, size * nmemb);
    return size * nmemb;
}

static int slow_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                         curl_off_t ultotal, curl_off_t ulnow)
{
    slow_reader *s = ud;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(&s->abort) ? 1 : 0;
}

static void *slow_reader_main(void *arg)
{
    slow_reader *s = arg;
    CURL *h = curl_easy_init();

    if (h != NULL) {
        curl_easy_setopt(h, CURLOPT_URL, s->url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, slow_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, slow_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
        curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE,
                         (curl_off_t)(64 * 1024));
        s->rc = curl_easy_perform(h);
        curl_easy_cleanup(h);
    }
    atomic_store(&s->done, true);
    return NULL;
}

/* Posts `batches` batches of 2000 points with a 1000-byte label each, so
 * GET /metrics?name=slow_pt is about 2.2 MB per batch. */
static void post_bulk(uint16_t port, int batches)
{
    char pad[1001], t[E2E_TIME_MAX];
    int64_t now = e2e_wall_ns();
    e2e_buf b = {0};

    memset(pad, 'x', 1000);
    pad[1000] = '\0';
    for (int k = 0; k < batches; k++) {
        e2e_buf_printf(&b, "[");
        for (int i = 0; i < 2000; i++)
            e2e_buf_printf(&b,
                           "%s{\"name\":\"slow_pt\",\"value\":%d,"
                           "\"time\":\"%s\",\"labels\":{\"b\":\"%d\","
                           "\"pad\":\"%s\"}}",
                           i ? "," : "", i,
                           e2e_fmt_time(now - i * 1000000LL, t), k, pad);
        e2e_buf_printf(&b, "]");
        assert_int_equal(http_status(port, "POST", "/metrics", b.data), 204);
        e2e_buf_free(&b);
    }
}

static void test_sigterm_during_slow_download(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system",
                                       "--max-body", "8388608", NULL};
    e2e_proc *p = server(args);
    slow_reader sr = {.received = 0, .abort = false, .done = false};
    int64_t deadline;
    pthread_t th;

    (void)state;
    post_bulk(e2e_proc_port(p), 8); /* ~18 MB: more than socket buffers */
    e2e_url(sr.url, sizeof(sr.url), e2e_proc_port(p), "/metrics?name=slow_pt");
    assert_int_equal(pthread_create(&th, NULL, slow_reader_main, &sr), 0);

    deadline = e2e_now_ms() + 5000L * e2e_slowdown();
    while (atomic_load(&sr.received) == 0 && e2e_now_ms() < deadline)
        e2e_sleep_ms(5);
    if (atomic_load(&sr.received) == 0) {
        atomic_store(&sr.abort, true);
        pthread_join(th, NULL);
        fail_msg("the slow download never started");
    }
    /* Still downloading when the signal arrives. */
    assert_false(atomic_load(&sr.done));
    stop_and_check(p, SIGTERM, "SIGTERM");
    atomic_store(&sr.abort, true);
    pthread_join(th, NULL);
    assert_true(sr.rc != CURLE_OK); /* never completed */
}

/* ---------------------------------------------------------------- CLI */

static void test_push_round_trips(void **state)
{
    static const char *const args[] = {"--no-process", "--no-system", NULL};
    e2e_proc *p = server(args);
    char url[128], *out, *err;
    int status = 0;
    json_t *arr, *labels;

    (void)state;
    e2e_url(url, sizeof(url), e2e_proc_port(p), "");
    {
        const char *const argv[] = {bin(),   "push",   "e2e_push",
                                    "42.5",  "host=a", "env=test",
                                    "--url", url,      NULL};
        assert_int_equal(
            e2e_run(bin(), argv, 10000 * e2e_slowdown(), &status, &out, &err),
            0);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("push exited with status %d; stderr: %s", status, err);
    free(out);
    free(err);

    arr = get_json(e2e_proc_port(p), "/metrics?name=e2e_push");
    assert_int_equal(json_array_size(arr), 1);
    assert_true(num(json_array_get(arr, 0)) == 42.5);
    labels = json_object_get(json_array_get(arr, 0), "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "host")),
                        "a");
    assert_string_equal(json_string_value(json_object_get(labels, "env")),
                        "test");
    json_decref(arr);
    stop_and_check(p, SIGTERM, "SIGTERM");
}

/* A loopback port nothing listens on (bound, then released). */
static uint16_t unused_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void test_push_to_unreachable_server_exits_1(void **state)
{
    char url[128], *out, *err;
    int status = 0;

    (void)state;
    e2e_url(url, sizeof(url), unused_port(), "");
    {
        const char *const argv[] = {bin(),   "push", "e2e_push", "1",
                                    "--url", url,    NULL};
        assert_int_equal(
            e2e_run(bin(), argv, 20000 * e2e_slowdown(), &status, &out, &err),
            0);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        fail_msg("push to a closed port: status %d, want exit 1; "
                 "stderr: %s",
                 status, err);
    assert_true(strlen(err) > 0);
    free(out);
    free(err);
}

static void test_version_prints_version(void **state)
{
    const char *const argv[] = {bin(), "version", NULL};
    char *out, *err;
    int status = 0;

    (void)state;
    assert_int_equal(
        e2e_run(bin(), argv, 10000 * e2e_slowdown(), &status, &out, &err), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (strcmp(out, "scoreboard 0.1.0\n") != 0 &&
        strcmp(out, "scoreboard 0.1.0") != 0)
        fail_msg("version printed \"%s\"", out);
    free(out);
    free(err);
}

static void test_usage_errors_exit_2(void **state)
{
    static const char *const cases[][5] = {
        {"serve", "--bogus", NULL},
        {"serve", "--listen", NULL},
        {"serve", "--retention", "soon", NULL},
        {"serve", "--interval", "-1s", NULL},
        {"frobnicate", NULL},
        {"push", "only_a_name", NULL},
    };
    const char *argv[7];
    char *out, *err;
    int status, failures = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;

        argv[n++] = bin();
        for (size_t k = 0; cases[i][k] != NULL; k++)
            argv[n++] = cases[i][k];
        argv[n] = NULL;
        status = 0;
        assert_int_equal(
            e2e_run(bin(), argv, 10000 * e2e_slowdown(), &status, &out, &err),
            0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 ||
            strlen(err) == 0) {
            print_error("scoreboard %s %s %s: status %d, want exit 2 with "
                        "a message; stderr: %s\n",
                        argv[1], n > 2 ? argv[2] : "", n > 3 ? argv[3] : "",
                        status, err);
            failures++;
        }
        free(out);
        free(err);
    }
    assert_int_equal(failures, 0);
}

static void test_port_in_use_exits_1(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
    char listen_arg[64];
    e2e_proc *p;
    char *log;

    (void)state;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%u",
             (unsigned)ntohs(a.sin_port));
    {
        const char *const argv[] = {bin(), "serve", "--listen", listen_arg,
                                    NULL};
        p = e2e_proc_start(bin(), argv, NULL);
    }
    assert_non_null(p);
    if (e2e_proc_wait_exit(p, 5000 * e2e_slowdown(), &status, NULL) != 0) {
        close(fd);
        fail_msg("serve on a busy port did not exit within 5 s");
    }
    close(fd);
    e2e_proc_wait_stderr(p, "error", 2000); /* let the reader drain */
    log = e2e_proc_stderr(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 ||
        strstr(log, "error") == NULL ||
        strstr(log, "listening address=") != NULL)
        fail_msg("busy port: status %d, want exit 1 with an error line; "
                 "stderr:\n%s",
                 status, log);
    free(log);
}

static void test_env_sets_listen_address(void **state)
{
    const char *const argv[] = {bin(), "serve", NULL};
    const char *const env[] = {"SCOREBOARD_LISTEN=127.0.0.1:0",
                               "SCOREBOARD_INTERVAL=100ms", NULL};
    e2e_proc *p = e2e_proc_start(bin(), argv, env);

    (void)state;
    assert_non_null(p);
    if (e2e_proc_wait_port(p, 10000 * e2e_slowdown()) == 0)
        fail_msg("no listening line with SCOREBOARD_LISTEN=127.0.0.1:0");
    assert_int_equal(http_status(e2e_proc_port(p), "GET", "/healthz", NULL),
                     200);
    stop_and_check(p, SIGTERM, "SIGTERM");
}

/* ---------------------------------------------------------------- toy */

static void check_toy(e2e_proc *p)
{
    static const char *const kind[] = {"kind", NULL, NULL};
    int64_t deadline = e2e_now_ms() + 5000L * e2e_slowdown();
    json_t *jobs = NULL, *dur, *later;
    double total = 0;
    size_t i;
    json_t *pt;

    if (e2e_proc_wait_port(p, 10000 * e2e_slowdown()) == 0)
        fail_msg("toy_service printed no listening line");
    do {
        e2e_sleep_ms(20);
        json_decref(jobs);
        jobs = get_json(e2e_proc_port(p),
                        "/metrics?name=toy_jobs_total&latest=true");
    } while (json_array_size(jobs) == 0 && e2e_now_ms() < deadline);
    assert_non_null(find_series(jobs, "toy_jobs_total", kind));
    json_array_foreach(jobs, i, pt) total += num(pt);
    assert_true(total >= 1);

    dur = get_json(e2e_proc_port(p),
                   "/metrics?name=toy_job_duration_seconds&latest=true");
    pt = find_series(dur, "toy_job_duration_seconds", kind);
    assert_non_null(pt);
    assert_true(num(pt) > 0 && num(pt) < 10);
    json_decref(dur);

    /* It keeps working: the counters grow. */
    deadline = e2e_now_ms() + 5000L * e2e_slowdown();
    for (;;) {
        double now_total = 0;

        e2e_sleep_ms(50);
        later = get_json(e2e_proc_port(p),
                         "/metrics?name=toy_jobs_total&latest=true");
        json_array_foreach(later, i, pt) now_total += num(pt);
        json_decref(later);
        if (now_total > total)
            break;
        if (e2e_now_ms() >= deadline)
            fail_msg("toy_jobs_total did not grow");
    }
    json_decref(jobs);
}

static void stop_toy(e2e_proc *p, int sig)
{
    long elapsed = 0;
    int status = 0;
    char *log;

    if (e2e_proc_stop(p, sig, 10000 * e2e_slowdown(), &status, &elapsed) != 0)
        fail_msg("toy_service still running 10 s after the signal");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        elapsed > stop_limit_ms()) {
        log = e2e_proc_stderr(p);
        fail_msg("toy_service: status %d after %ld ms; stderr:\n%s", status,
                 elapsed, log);
    }
}

static void test_toy_service_serves_job_metrics(void **state)
{
    const char *toy = e2e_env_path("SB_TOY");
    const char *const argv[] = {toy, "127.0.0.1:0", NULL};
    e2e_proc *p;

    (void)state;
    if (toy == NULL)
        fail_msg("SB_TOY is not set (run through ctest)");
    p = e2e_proc_start(toy, argv, NULL);
    assert_non_null(p);
    check_toy(p);
    stop_toy(p, SIGINT);
}

static void test_toy_service_listen_from_env(void **state)
{
    const char *toy = e2e_env_path("SB_TOY");
    const char *const argv[] = {toy, NULL};
    const char *const env[] = {"TOY_LISTEN=127.0.0.1:0", NULL};
    e2e_proc *p;

    (void)state;
    if (toy == NULL)
        fail_msg("SB_TOY is not set (run through ctest)");
    p = e2e_proc_start(toy, argv, env);
    assert_non_null(p);
    check_toy(p);
    stop_toy(p, SIGTERM);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, e2e_proc_free_all)
    const struct CMUnitTest tests[] = {
        T(test_collector_series_appear_within_2s),
        T(test_no_process_no_system_flags),
        T(test_request_metrics_after_traffic),
        T(test_access_log_flag_logs_requests),
        T(test_sigterm_exits_0_within_1s),
        T(test_sigint_exits_0_within_1s),
        T(test_sigterm_with_idle_keepalive_connection),
        T(test_sigterm_during_slow_download),
        T(test_push_round_trips),
        T(test_push_to_unreachable_server_exits_1),
        T(test_version_prints_version),
        T(test_usage_errors_exit_2),
        T(test_port_in_use_exits_1),
        T(test_env_sets_listen_address),
        T(test_toy_service_serves_job_metrics),
        T(test_toy_service_listen_from_env),
    };
#undef T
    int failed;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed = cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
    e2e_proc_free_all(NULL);
    curl_global_cleanup();
    return failed != 0;
}
