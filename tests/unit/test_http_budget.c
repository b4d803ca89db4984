/*
 * test_http_budget.c - the cap on memory held by GET answers being sent.
 *
 * The server runs in-process with max_query_points 1000, so its answer
 * budget is 256,000 bytes; the store holds series with large labels, so
 * one answer of every point is far above it. A client that asks for that
 * answer and stops reading keeps it in flight; meanwhile other large
 * answers must be refused with a JSON 503, small requests still served,
 * and once the stalled client goes away the budget is free again.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SERIES 300
#define LABELS 32
#define VALUE  1000

static char g_value[VALUE + 1];

/* SERIES series of one point each, every one with LABELS labels of
 * VALUE bytes: about 10 MB of JSON for GET /metrics. */
static void fill_fat_series(sb_store *st)
{
    static char keys[LABELS][8];
    sb_label labels[LABELS];
    char first[16];

    memset(g_value, 'v', VALUE);
    for (int k = 0; k < LABELS; k++) {
        snprintf(keys[k], sizeof keys[k], "k%d", k);
        labels[k] = (sb_label){keys[k], g_value};
    }
    labels[0].value = first; /* makes each series distinct */
    for (int i = 0; i < SERIES; i++) {
        sb_sample s = {"fat", labels, LABELS, 1, sb_time_now()};

        snprintf(first, sizeof first, "%d", i);
        assert_int_equal(sb_store_write(st, &s), 0);
    }
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    size_t *len = ud;

    (void)p;
    *len += sz * n;
    return sz * n;
}

/* GET pq; returns the status, *body_len gets the body's length. */
static long get(uint16_t port, const char *pq, size_t *body_len)
{
    CURL *h = curl_easy_init();
    char url[256];
    long status = 0;

    assert_non_null(h);
    *body_len = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, pq);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body_len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

/* A client that asks for every point and reads only the first bytes. */
static int stalled_reader(uint16_t port)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
    char buf[512];

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_true(send(fd, req, sizeof req - 1, 0) == (ssize_t)(sizeof req - 1));
    assert_true(recv(fd, buf, sizeof buf, 0) > 0); /* the answer started */
    return fd;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

static void test_slow_readers_cannot_pin_unbounded_answers(void **state)
{
    sb_store_options so;
    sb_server_options o;
    sb_store *st;
    sb_server *srv;
    uint16_t port;
    size_t len;
    long status = 0;
    int fd;

    (void)state;
    sb_store_options_init(&so);
    assert_int_equal(sb_store_create(&so, &st), 0);
    fill_fat_series(st);
    sb_server_options_init(&o);
    o.listen = "127.0.0.1:0";
    o.collect_process = false;
    o.collect_system = false;
    o.max_query_points = 1000;
    assert_int_equal(sb_server_start(st, &o, &srv), 0);
    port = sb_server_port(srv);

    /* Alone, one answer above the budget is still served. */
    assert_int_equal(get(port, "/metrics", &len), 200);
    assert_true(len > 5 * 1000 * 1000);

    fd = stalled_reader(port);
    assert_int_equal(get(port, "/metrics?name=fat&latest", &len), 503);
    assert_true(len > 0);
    assert_int_equal(get(port, "/api/v1/series", &len), 503);
    assert_int_equal(get(port, "/healthz", &len), 200);
    assert_int_equal(get(port, "/metrics?name=absent", &len), 200);

    /* The stalled client leaves: its share comes back. */
    close(fd);
    for (int i = 0; i < 200 && status != 200; i++) {
        status = get(port, "/api/v1/series", &len);
        if (status != 200)
            sleep_ms(50);
    }
    assert_int_equal(status, 200);

    sb_server_stop(srv);
    sb_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_readers_cannot_pin_unbounded_answers),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
