/*
 * test_hot_shots.c - a real StatsD client against the real binary: runs
 * tests/clients/hot_shots_mix.js (the npm package hot-shots, pinned in
 * tests/clients/package-lock.json and installed by
 * `scripts/install-deps.sh test`) against a server started with
 * --statsd 127.0.0.1:0, then checks every stored aggregate exactly.
 *
 * The mix sends its UDP part as one datagram, so its timer, histogram
 * and set lines fall into one flush interval; the TCP part holds only
 * counters and gauges. A missing node or node_modules fails the test
 * with the command that fixes it (the test is not skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/support/metrics.h"
#include "e2e/support/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static uint16_t statsd_port(e2e_proc *p)
{
    const char *needle = "statsd_listening address=127.0.0.1:";
    char *err;
    const char *at;
    uint16_t port;

    if (!e2e_proc_wait_stderr(p, needle, 5000 * e2e_slowdown()))
        fail_msg("no statsd_listening line");
    err = e2e_proc_stderr(p);
    at = strstr(err, needle);
    port = (uint16_t)strtoul(at + strlen(needle), NULL, 10);
    free(err);
    return port;
}

static void run_client(const char *dir, uint16_t port)
{
    const char *node = getenv("SB_NODE");
    char script[1024], modules[1024], portarg[16];
    const char *argv[4];
    struct stat st;
    int status = 0;
    char *out = NULL, *err = NULL;

    if (node == NULL || node[0] == '\0')
        fail_msg("node not found: run scripts/install-deps.sh test");
    snprintf(modules, sizeof modules, "%s/node_modules/hot-shots", dir);
    if (stat(modules, &st) != 0)
        fail_msg("%s missing: run scripts/install-deps.sh test", modules);
    snprintf(script, sizeof script, "%s/hot_shots_mix.js", dir);
    snprintf(portarg, sizeof portarg, "%u", (unsigned)port);
    argv[0] = node;
    argv[1] = script;
    argv[2] = portarg;
    argv[3] = NULL;
    assert_int_equal(e2e_run(node, argv, 60000, &status, &out, &err), 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("client failed (status %d): %s", status, err);
    assert_non_null(strstr(out, "mix sent"));
    free(out);
    free(err);
}

static void test_hot_shots_mix_is_stored_exactly(void **state)
{
    static const char *const args[] = {
        "--no-process", "--no-system", "--statsd", "127.0.0.1:0",
        "--interval",   "200ms",       NULL};
    static const char *const home[] = {"route=home", NULL};
    static const char *const about[] = {"route=about", NULL};
    static const char *const get[] = {"op=get", NULL};
    static const char *const q50[] = {"op=get", "quantile=0.5", NULL};
    static const char *const q90[] = {"op=get", "quantile=0.9", NULL};
    static const char *const q99[] = {"op=get", "quantile=0.99", NULL};
    static const char *const p50[] = {"quantile=0.5", NULL};
    static const char *const tcp[] = {"via=tcp", NULL};
    const char *dir = getenv("SB_CLIENTS_DIR");
    e2e_proc *p = e2e_server_start(args);
    uint16_t http, port;

    assert_non_null(dir);
    if (p == NULL)
        fail_msg("server did not start");
    http = e2e_proc_port(p);
    port = statsd_port(p);
    run_client(dir, port);

    e2e_expect_value(http, "hs.requests_total", home, 1 + 5 - 2);
    e2e_expect_value(http, "hs.requests_total", about, 1);
    e2e_expect_value(http, "hs.queue", NULL, 10 - 3);
    /* timing 12, 7, 30, 18 ms */
    e2e_expect_value(http, "hs.latency_seconds_count", get, 4);
    e2e_expect_value(http, "hs.latency_seconds_sum", get, 67.0 / 1000);
    e2e_expect_value(http, "hs.latency_seconds_min", get, 7.0 / 1000);
    e2e_expect_value(http, "hs.latency_seconds_max", get, 30.0 / 1000);
    e2e_expect_value(http, "hs.latency_seconds_mean", get, 67.0 / 4 / 1000);
    e2e_expect_value(http, "hs.latency_seconds", q50, 12.0 / 1000);
    e2e_expect_value(http, "hs.latency_seconds", q90, 30.0 / 1000);
    e2e_expect_value(http, "hs.latency_seconds", q99, 30.0 / 1000);
    /* histogram 100, 250, 50; distribution 2.5, 0.5 */
    e2e_expect_value(http, "hs.payload_count", NULL, 3);
    e2e_expect_value(http, "hs.payload_sum", NULL, 400);
    e2e_expect_value(http, "hs.payload_min", NULL, 50);
    e2e_expect_value(http, "hs.payload_max", NULL, 250);
    e2e_expect_value(http, "hs.payload", p50, 100);
    e2e_expect_value(http, "hs.dist_mean", NULL, 1.5);
    e2e_expect_value(http, "hs.users_unique", NULL, 3);
    /* TCP */
    e2e_expect_value(http, "hs.tcp_events_total", tcp, 7);
    e2e_expect_value(http, "hs.tcp_level", NULL, 50);
    e2e_expect_value(http, "scoreboard_statsd_malformed_lines_total",
                     (const char *const[]){"transport=udp", NULL}, 0);
    e2e_expect_value(http, "scoreboard_statsd_lines_total",
                     (const char *const[]){"transport=udp", NULL}, 19);
    e2e_expect_value(http, "scoreboard_statsd_lines_total",
                     (const char *const[]){"transport=tcp", NULL}, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hot_shots_mix_is_stored_exactly,
                                  e2e_proc_free_all),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
