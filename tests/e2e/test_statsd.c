/*
 * test_statsd.c - the StatsD receiver of the real binary: UDP datagrams
 * and TCP lines (good, malformed, over-long, unterminated) end up as the
 * documented series with exact values, the self-metrics count what was
 * refused, a flood of garbage does not stop the listener, shutdown stays
 * prompt, and bad --statsd addresses fail at start.
 *
 * The server runs with --statsd 127.0.0.1:0 and its port is read from
 * the `statsd_listening address=` log line. Aggregates show up at the
 * next flush, so every check polls GET /metrics with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/support/http.h"
#include "e2e/support/metrics.h"
#include "e2e/support/proc.h"

#include <arpa/inet.h>
#include <math.h>
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

typedef struct srv {
    e2e_proc *proc;
    uint16_t http;
    uint16_t statsd;
} srv;

static srv start(void)
{
    static const char *const args[] = {
        "--no-process", "--no-system", "--statsd", "127.0.0.1:0",
        "--interval",   "200ms",       NULL};
    const char *needle = "statsd_listening address=127.0.0.1:";
    srv s = {0};
    char *err, *at;

    s.proc = e2e_server_start(args);
    if (s.proc == NULL)
        fail_msg("server did not start");
    s.http = e2e_proc_port(s.proc);
    if (!e2e_proc_wait_stderr(s.proc, needle, 5000 * e2e_slowdown()))
        fail_msg("no statsd_listening line");
    err = e2e_proc_stderr(s.proc);
    at = strstr(err, needle);
    s.statsd = (uint16_t)strtoul(at + strlen(needle), NULL, 10);
    free(err);
    assert_true(s.statsd > 0);
    return s;
}

static void send_udp(uint16_t port, const char *data, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(
        sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof sa),
        (ssize_t)len);
    close(fd);
}

static int tcp_connect(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

static void expect(uint16_t port, const char *name, const char *const *kv,
                   double want)
{
    e2e_expect_value(port, name, kv, want);
}

static const char *const PROD[] = {"env=prod", NULL};
static const char *const UDP[] = {"transport=udp", NULL};
static const char *const TCP[] = {"transport=tcp", NULL};

static void test_statsd_udp_packet_aggregates_exactly(void **state)
{
    static const char *const q50[] = {"quantile=0.5", NULL};
    static const char *const q99[] = {"quantile=0.99", NULL};
    static const char packet[] = "deploys:1|c|#env:prod\n"
                                 "deploys:2|c|@0.5|#env:prod\n"
                                 "not a metric\n"
                                 "lat:100|ms\nlat:300|ms\nlat:200|ms\n"
                                 "lat:NaN|ms\n"
                                 "users:ann|s\nusers:bob|s\nusers:ann|s\n"
                                 "temp:20|g\ntemp:-5|g\n"
                                 "size:4|h|#env:prod\n";
    srv s = start();

    send_udp(s.statsd, packet, sizeof packet - 1);
    expect(s.http, "deploys_total", PROD, 5);
    expect(s.http, "lat_seconds_count", NULL, 3);
    expect(s.http, "lat_seconds_sum", NULL, 600.0 / 1000);
    expect(s.http, "lat_seconds_min", NULL, 100.0 / 1000);
    expect(s.http, "lat_seconds_max", NULL, 300.0 / 1000);
    expect(s.http, "lat_seconds_mean", NULL, 600.0 / 3 / 1000);
    expect(s.http, "lat_seconds", q50, 200.0 / 1000);
    expect(s.http, "lat_seconds", q99, 300.0 / 1000);
    expect(s.http, "users_unique", NULL, 2);
    expect(s.http, "temp", NULL, 15);
    expect(s.http, "size_sum", PROD, 4);
    expect(s.http, "scoreboard_statsd_packets_received_total", NULL, 1);
    expect(s.http, "scoreboard_statsd_lines_total", UDP, 13);
    expect(s.http, "scoreboard_statsd_malformed_lines_total", UDP, 2);
    assert_true(
        e2e_proc_wait_stderr(s.proc, "statsd_malformed transport=udp", 5000));
    /* Gauges and counters persist: a later delta builds on them. */
    send_udp(s.statsd, "temp:+1|g\ndeploys:1|c|#env:prod", 31);
    expect(s.http, "temp", NULL, 16);
    expect(s.http, "deploys_total", PROD, 6);
}

static void test_statsd_tcp_lines_long_lines_and_eof(void **state)
{
    srv s = start();
    int fd = tcp_connect(s.statsd);
    size_t big = 70 * 1024;
    char *junk = malloc(big);

    assert_non_null(junk);
    memset(junk, 'x', big);
    send_all(fd, "conns:1|c\nconns:2|c\nbroken\n", 27);
    /* An over-long line is skipped up to its newline; the next counts. */
    send_all(fd, junk, big);
    send_all(fd, "\nconns:4|c\n", 11);
    expect(s.http, "conns_total", NULL, 7);
    expect(s.http, "scoreboard_statsd_tcp_connections", NULL, 1);
    /* The unterminated last line counts once the client closes. */
    send_all(fd, "conns:8|c", 9);
    close(fd);
    expect(s.http, "conns_total", NULL, 15);
    expect(s.http, "scoreboard_statsd_malformed_lines_total", TCP, 2);
    expect(s.http, "scoreboard_statsd_lines_total", TCP, 6);
    expect(s.http, "scoreboard_statsd_tcp_connections", NULL, 0);
    free(junk);
}

typedef struct flooder {
    uint16_t port;
    atomic_bool stop;
    unsigned long sent;
} flooder;

/* Sends 10-line datagrams as fast as it can until told to stop. */
static void *flood(void *arg)
{
    flooder *f = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(f->port)};
    static const char pkt[] = "f:1|c\nf:1|c\nf:1|c\nf:1|c\nf:1|c\n"
                              "t:5|ms\nt:6|ms\nu:x|s\ng:1|g\nf:1|c";
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (fd >= 0 && !atomic_load(&f->stop)) {
        if (sendto(fd, pkt, sizeof pkt - 1, 0, (struct sockaddr *)&sa,
                   sizeof sa) > 0)
            f->sent++;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void test_statsd_survives_garbage_and_stops_promptly(void **state)
{
    srv s = start();
    unsigned seed = 12345;
    char buf[1500];
    int status = 0, fd, rc;
    long elapsed = 0;
    flooder fl = {0};
    pthread_t th;
    int64_t deadline;

    for (int i = 0; i < 3000; i++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof buf);

        for (size_t k = 0; k < n; k++)
            buf[k] = (char)(rand_r(&seed) & 0xff);
        if (i % 3 == 0 && n > 8)
            memcpy(buf, "a:1|c\n", 6); /* a good line in front */
        send_udp(s.statsd, buf, n);
    }
    send_udp(s.statsd, "alive:1|c", 9);
    expect(s.http, "alive_total", NULL, 1);
    /* Neither a connection left open nor a flood in progress holds up
     * the stop. */
    fd = tcp_connect(s.statsd);
    send_all(fd, "half", 4);
    atomic_init(&fl.stop, false);
    fl.port = s.statsd;
    assert_int_equal(pthread_create(&th, NULL, flood, &fl), 0);
    /* The flood is being received before the stop is asked for. */
    deadline = e2e_now_ms() + 15000 * e2e_slowdown();
    while (!(e2e_latest_value(s.http, "f_total", NULL) > 0)) {
        if (e2e_now_ms() > deadline)
            fail_msg("the flood never showed up as f_total");
        e2e_sleep_ms(20);
    }
    rc = e2e_proc_stop(s.proc, SIGTERM, 10000, &status, &elapsed);
    atomic_store(&fl.stop, true);
    pthread_join(th, NULL);
    close(fd);
    assert_int_equal(rc, 0);
    assert_true(fl.sent > 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(elapsed <= 1000 + (e2e_slowdown() - 1) * 500L);
}

/* A TCP port on 127.0.0.1 held by a listening socket of this test; the
 * socket is returned in *fd. */
static uint16_t taken_port(int *fd)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;

    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(*fd, 1), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

static void test_statsd_bad_addresses_fail_at_start(void **state)
{
    const char *bin = e2e_env_path("SB_BINARY");
    static const char *const usage[] = {"scoreboard", "serve", "--statsd",
                                        "127.0.0.1", NULL};
    char addr[32];
    const char *busy[] = {"scoreboard", "serve", "--listen", "127.0.0.1:0",
                          "--statsd",   addr,    NULL};
    int status = 0, fd;
    char *out = NULL, *err = NULL;

    assert_non_null(bin);
    assert_int_equal(e2e_run(bin, usage, 10000, &status, &out, &err), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    assert_non_null(strstr(err, "--statsd"));
    free(out);
    free(err);
    /* The TCP half of the address is taken: the server refuses to start. */
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)taken_port(&fd));
    assert_int_equal(e2e_run(bin, busy, 10000, &status, &out, &err), 0);
    close(fd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    assert_non_null(strstr(err, "statsd_listen_failed"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_statsd_udp_packet_aggregates_exactly,
                                  e2e_proc_free_all),
        cmocka_unit_test_teardown(test_statsd_tcp_lines_long_lines_and_eof,
                                  e2e_proc_free_all),
        cmocka_unit_test_teardown(
            test_statsd_survives_garbage_and_stops_promptly, e2e_proc_free_all),
        cmocka_unit_test_teardown(test_statsd_bad_addresses_fail_at_start,
                                  e2e_proc_free_all),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
