/*
 * test_http_server.c - the server's lifecycle in process: options
 * defaults, argument and address errors, the `listening` log line, keep-
 * alive, streamed and compressed bodies, upload caps, request metrics,
 * and a stop that stays under a second with idle keep-alive connections
 * and a client that stopped reading a large response.
 *
 * Each test starts its own server on 127.0.0.1:0 with the process and
 * system collectors off and a short collector interval, and talks to it
 * with libcurl (or a raw socket where a misbehaving client is needed).
 * The API's full behaviour is covered end to end in tests/e2e/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scoreboard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------- log capture */

typedef struct log_cap {
    pthread_mutex_t mu;
    char text[16384];
    size_t len;
} log_cap;

static void cap_log(void *ud, int level, const char *line)
{
    log_cap *c = ud;

    (void)level;
    pthread_mutex_lock(&c->mu);
    int n = snprintf(c->text + c->len, sizeof c->text - c->len, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof c->text - c->len)
        c->len += (size_t)n;
    pthread_mutex_unlock(&c->mu);
}

static bool cap_has(log_cap *c, const char *needle)
{
    bool found;

    pthread_mutex_lock(&c->mu);
    found = strstr(c->text, needle) != NULL;
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* ------------------------------------------------------------ fixture */

typedef struct fixture {
    sb_store *store;
    sb_server *srv;
    log_cap log;
    uint16_t port;
} fixture;

static void opts_for_test(sb_server_options *o, log_cap *cap)
{
    sb_server_options_init(o);
    o->listen = "127.0.0.1:0";
    o->collect_process = false;
    o->collect_system = false;
    o->interval_ns = 50 * 1000 * 1000;
    o->log = cap_log;
    o->log_ud = cap;
    o->log_level = SB_LOG_DEBUG;
}

static fixture *fixture_start_threads(size_t max_body, unsigned threads)
{
    fixture *f = calloc(1, sizeof *f);
    sb_store_options so;
    sb_server_options o;

    assert_non_null(f);
    pthread_mutex_init(&f->log.mu, NULL);
    sb_store_options_init(&so);
    so.max_points_per_series = 300000;
    assert_int_equal(sb_store_create(&so, &f->store), 0);
    opts_for_test(&o, &f->log);
    if (max_body > 0)
        o.max_body = max_body;
    o.threads = threads;
    assert_int_equal(sb_server_start(f->store, &o, &f->srv), 0);
    f->port = sb_server_port(f->srv);
    assert_true(f->port != 0);
    return f;
}

static fixture *fixture_start(size_t max_body)
{
    return fixture_start_threads(max_body, 0);
}

static void fixture_stop(fixture *f)
{
    sb_server_stop(f->srv);
    sb_store_destroy(f->store);
    pthread_mutex_destroy(&f->log.mu);
    free(f);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------- curl helper */

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char headers[4096];
    size_t hlen;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);

    if (nb == NULL)
        return 0;
    memcpy(nb + r->len, p, sz * n);
    r->len += sz * n;
    nb[r->len] = '\0';
    r->body = nb;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t take = sz * n;

    if (take > sizeof r->headers - r->hlen - 1)
        take = sizeof r->headers - r->hlen - 1;
    memcpy(r->headers + r->hlen, p, take);
    r->hlen += take;
    r->headers[r->hlen] = '\0';
    return sz * n;
}

/* Runs one request on h (reused for keep-alive); extra is a header list. */
static void http(CURL *h, uint16_t port, const char *method, const char *pq,
                 const char *body, struct curl_slist *extra, resp *r)
{
    char url[512];

    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, pq);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* resets NOBODY: first */
    curl_easy_setopt(h, CURLOPT_NOBODY, (long)(strcmp(method, "HEAD") == 0));
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
}

static bool has_header(const resp *r, const char *line)
{
    return strcasestr(r->headers, line) != NULL;
}

/* Writes n points of one series, 1 ms apart, ending now. */
static void fill(sb_store *st, const char *name, size_t n)
{
    sb_sample *s = calloc(n, sizeof *s);
    int64_t now = sb_time_now();

    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[i].name = name;
        s[i].value = (double)i;
        s[i].time_ns = now - (int64_t)(n - i) * 1000000;
    }
    assert_int_equal(sb_store_write_batch(st, s, n, NULL), 0);
    free(s);
}

/* ---------------------------------------------------------------- tests */

static void test_server_options_init_sets_documented_defaults(void **state)
{
    sb_server_options o;

    (void)state;
    memset(&o, 0xa5, sizeof o);
    sb_server_options_init(&o);
    assert_string_equal(o.listen, "127.0.0.1:8080");
    assert_int_equal(o.interval_ns, 1000000000);
    assert_int_equal(o.max_body, 1024 * 1024);
    assert_int_equal(o.max_query_points, 1000000);
    assert_null(o.cors_origins);
    assert_int_equal(o.ncors_origins, 0);
    assert_false(o.access_log);
    assert_true(o.collect_process);
    assert_true(o.collect_system);
    assert_int_equal(o.threads, 0);
    assert_int_equal(o.log_level, SB_LOG_INFO);
    assert_null(o.log);
}

static void test_server_start_refuses_bad_arguments(void **state)
{
    static const char *const bad[] = {"127.0.0.1", "::1:80", "[::1]:x",
                                      "127.0.0.1:70000", ""};
    log_cap cap = {.len = 0};
    sb_server_options o;
    sb_server *srv = (sb_server *)&cap; /* must be reset to NULL */
    sb_store *st;

    (void)state;
    pthread_mutex_init(&cap.mu, NULL);
    assert_int_equal(sb_store_create(NULL, &st), 0);
    opts_for_test(&o, &cap);
    assert_int_equal(sb_server_start(NULL, &o, &srv), SB_EINVAL);
    assert_null(srv);
    assert_int_equal(sb_server_start(st, &o, NULL), SB_EINVAL);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.listen = bad[i];
        assert_int_equal(sb_server_start(st, &o, &srv), SB_EADDR);
        assert_null(srv);
    }
    assert_true(cap_has(&cap, "listen_invalid address=127.0.0.1 reason="));

    opts_for_test(&o, &cap);
    o.interval_ns = 0;
    assert_int_equal(sb_server_start(st, &o, &srv), SB_EINVAL);
    assert_null(srv);

    sb_server_stop(NULL); /* accepted */
    assert_int_equal(sb_server_port(NULL), 0);
    sb_store_destroy(st);
    pthread_mutex_destroy(&cap.mu);
}

static void test_server_refuses_a_port_in_use(void **state)
{
    fixture *f = fixture_start(0);
    log_cap cap = {.len = 0};
    sb_server_options o;
    sb_server *srv = NULL;
    char addr[64];

    (void)state;
    pthread_mutex_init(&cap.mu, NULL);
    opts_for_test(&o, &cap);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)f->port);
    o.listen = addr;
    assert_int_equal(sb_server_start(f->store, &o, &srv), SB_EADDR);
    assert_null(srv);
    assert_true(cap_has(&cap, "listen_failed"));
    pthread_mutex_destroy(&cap.mu);
    fixture_stop(f);
}

static void test_server_logs_listening_line_with_bound_port(void **state)
{
    fixture *f = fixture_start(0);
    char want[64];

    (void)state;
    snprintf(want, sizeof want, "listening address=127.0.0.1:%u\n",
             (unsigned)f->port);
    assert_true(cap_has(&f->log, want));
    assert_int_equal(strncmp(f->log.text, "listening ", 10), 0);
    fixture_stop(f);
}

static void test_server_keeps_connections_alive(void **state)
{
    fixture *f = fixture_start(0);
    CURL *h = curl_easy_init();
    long connects = -1;
    resp r;

    (void)state;
    http(h, f->port, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    free(r.body);
    for (int i = 0; i < 3; i++) { /* success and error answers alike */
        http(h, f->port, "GET", i == 1 ? "/nope" : "/healthz", NULL, NULL, &r);
        free(r.body);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        assert_int_equal(connects, 0); /* the connection was reused */
        assert_false(has_header(&r, "Connection: close"));
    }
    curl_easy_cleanup(h);
    fixture_stop(f);
}

static void test_server_runs_one_thread_without_mhd_warnings(void **state)
{
    static const unsigned counts[] = {1, 2, 8};

    (void)state;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        fixture *f = fixture_start_threads(0, counts[i]);
        CURL *h = curl_easy_init();
        resp r;

        http(h, f->port, "GET", "/healthz", NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        free(r.body);
        curl_easy_cleanup(h);
        assert_false(cap_has(&f->log, "mhd message="));
        fixture_stop(f);
    }
}

static void test_server_streams_large_bodies_and_gzips_them(void **state)
{
    fixture *f = fixture_start(0);
    CURL *h = curl_easy_init();
    struct curl_slist *gz = curl_slist_append(NULL, "Accept-Encoding: gzip");
    resp plain, z;
    unsigned char *out;
    uLongf out_len;
    z_stream s;

    (void)state;
    fill(f->store, "big", 20000);
    http(h, f->port, "GET", "/metrics?name=big", NULL, NULL, &plain);
    assert_int_equal(plain.status, 200);
    assert_true(has_header(&plain, "Transfer-Encoding: chunked"));
    assert_true(has_header(&plain, "Vary: Accept-Encoding"));
    assert_false(has_header(&plain, "Content-Encoding"));
    assert_int_equal(plain.body[0], '[');
    assert_int_equal(plain.body[plain.len - 1], ']');

    http(h, f->port, "GET", "/metrics?name=big", NULL, gz, &z);
    assert_int_equal(z.status, 200);
    assert_true(has_header(&z, "Content-Encoding: gzip"));
    assert_true(z.len < plain.len / 4);

    out_len = plain.len + 16;
    out = malloc(out_len);
    assert_non_null(out);
    memset(&s, 0, sizeof s);
    assert_int_equal(inflateInit2(&s, 31), Z_OK);
    s.next_in = (unsigned char *)z.body;
    s.avail_in = (uInt)z.len;
    s.next_out = out;
    s.avail_out = (uInt)out_len;
    assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
    assert_int_equal(s.total_out, plain.len);
    assert_memory_equal(out, plain.body, plain.len);
    inflateEnd(&s);

    free(out);
    free(plain.body);
    free(z.body);
    curl_slist_free_all(gz);
    curl_easy_cleanup(h);
    fixture_stop(f);
}

static void test_server_sends_small_bodies_with_length(void **state)
{
    fixture *f = fixture_start(0);
    CURL *h = curl_easy_init();
    struct curl_slist *gz = curl_slist_append(NULL, "Accept-Encoding: gzip");
    resp r;

    (void)state;
    fill(f->store, "small", 3);
    http(h, f->port, "GET", "/metrics?name=small", NULL, gz, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Length:"));
    assert_false(has_header(&r, "Content-Encoding"));
    assert_true(has_header(&r, "Cache-Control: no-store"));
    assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
    assert_true(strstr(r.body, "\"name\":\"small\"") != NULL);
    free(r.body);

    http(h, f->port, "HEAD", "/metrics?name=small", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    free(r.body);
    curl_slist_free_all(gz);
    curl_easy_cleanup(h);
    fixture_stop(f);
}

static void test_server_caps_uploads_with_413(void **state)
{
    fixture *f = fixture_start(512);
    CURL *h = curl_easy_init();
    struct curl_slist *chunked =
        curl_slist_append(NULL, "Transfer-Encoding: chunked");
    char body[2048];
    resp r;

    (void)state;
    memset(body, ' ', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    http(h, f->port, "POST", "/metrics", body, NULL, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "{\"error\":\"the body exceeds 512 bytes\"}");
    free(r.body);

    http(h, f->port, "POST", "/metrics", body, chunked, &r);
    assert_int_equal(r.status, 413);
    free(r.body);

    /* under the cap: parsed, then stored */
    http(h, f->port, "POST", "/metrics", "{\"name\":\"up\",\"value\":1}", NULL,
         &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.len, 0);
    free(r.body);
    curl_slist_free_all(chunked);
    curl_easy_cleanup(h);
    fixture_stop(f);
}

/* Polls the store for requests_total{route,method,code} >= 1. */
static bool counted(sb_store *st, const char *route, const char *method,
                    const char *code)
{
    static const char *const names[] = {"scoreboard_http_requests_total"};
    bool found = false;
    sb_result *res = NULL;
    sb_query q;

    sb_query_init(&q);
    q.names = names;
    q.nnames = 1;
    q.latest = true;
    if (sb_store_query(st, &q, &res) != 0)
        return false;
    for (size_t i = 0; i < sb_result_point_count(res) && !found; i++) {
        sb_sample p;
        int match = 0;

        sb_result_get_point(res, i, &p);
        for (size_t k = 0; k < p.nlabels; k++) {
            const sb_label *l = &p.labels[k];

            match +=
                (strcmp(l->key, "route") == 0 &&
                 strcmp(l->value, route) == 0) ||
                (strcmp(l->key, "method") == 0 &&
                 strcmp(l->value, method) == 0) ||
                (strcmp(l->key, "code") == 0 && strcmp(l->value, code) == 0);
        }
        found = match == 3 && p.value >= 1;
    }
    sb_result_free(res);
    return found;
}

static void test_server_records_requests_by_fixed_route(void **state)
{
    fixture *f = fixture_start(0);
    CURL *h = curl_easy_init();
    bool ok = false;
    resp r;

    (void)state;
    http(h, f->port, "GET", "/some/hostile/path?x=1", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"error\":\"no such path\"}");
    free(r.body);
    http(h, f->port, "PATCH", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: GET, HEAD, OPTIONS"));
    free(r.body);
    http(h, f->port, "GET", "/healthz", NULL, NULL, &r);
    free(r.body);

    for (int64_t end = mono_ms() + 5000; !ok && mono_ms() < end;) {
        usleep(20000);
        ok = counted(f->store, "unmatched", "GET", "404") &&
             counted(f->store, "/healthz", "OTHER", "405") &&
             counted(f->store, "/healthz", "GET", "200");
    }
    assert_true(ok);
    curl_easy_cleanup(h);
    fixture_stop(f);
}

/* A client that asks for a large body and never reads it. */
static int stalled_client(uint16_t port, const char *pq)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    char req[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", pq);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    return fd;
}

static void test_server_stop_is_quick_with_open_connections(void **state)
{
    fixture *f = fixture_start(0);
    CURL *idle[4];
    int64_t t0, took;
    int stalled;
    resp r;

    (void)state;
    fill(f->store, "huge", 250000);
    for (int i = 0; i < 4; i++) { /* keep-alive connections left idle */
        idle[i] = curl_easy_init();
        http(idle[i], f->port, "GET", "/healthz", NULL, NULL, &r);
        free(r.body);
    }
    stalled = stalled_client(f->port, "/metrics?name=huge");
    usleep(200000); /* let the server fill the socket buffers */

    t0 = mono_ms();
    sb_server_stop(f->srv);
    took = mono_ms() - t0;
    f->srv = NULL;
    if (took >= 1000)
        fail_msg("stop took %lld ms", (long long)took);
    assert_true(cap_has(&f->log, "\nstopped\n"));
    if (getenv("SB_TEST_VERBOSE"))
        fprintf(stderr, "%s", f->log.text);

    close(stalled);
    for (int i = 0; i < 4; i++)
        curl_easy_cleanup(idle[i]);
    fixture_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_options_init_sets_documented_defaults),
        cmocka_unit_test(test_server_start_refuses_bad_arguments),
        cmocka_unit_test(test_server_refuses_a_port_in_use),
        cmocka_unit_test(test_server_logs_listening_line_with_bound_port),
        cmocka_unit_test(test_server_keeps_connections_alive),
        cmocka_unit_test(test_server_runs_one_thread_without_mhd_warnings),
        cmocka_unit_test(test_server_streams_large_bodies_and_gzips_them),
        cmocka_unit_test(test_server_sends_small_bodies_with_length),
        cmocka_unit_test(test_server_caps_uploads_with_413),
        cmocka_unit_test(test_server_records_requests_by_fixed_route),
        cmocka_unit_test(test_server_stop_is_quick_with_open_connections),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
