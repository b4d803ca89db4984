/*
 * test_collect.c - the collector runner, the process, system and store
 * collectors, and the /proc parsing helpers.
 *
 * The process and system collectors are pointed at fixture files written
 * to a temporary directory, so exact values (including the CPU percentage
 * computed across two ticks) can be checked; a smoke test also runs them
 * against the real /proc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collect/collector.h"
#include "collect/procfs.h"
#include "scoreboard.h"
#include "unit/support/store_probe.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MS  INT64_C(1000000)
#define SEC INT64_C(1000000000)

/* ------------------------------------------------------------ helpers */

static sb_store *new_store(size_t max_series, size_t max_points)
{
    sb_store_options o;
    sb_store *st = NULL;

    sb_store_options_init(&o);
    o.max_series = max_series;
    o.max_points_per_series = max_points;
    assert_int_equal(sb_store_create(&o, &st), SB_OK);
    return st;
}

/* The value of an unlabelled series at t; fails the test when absent. */
static double must_value(sb_store *st, const char *name, int64_t t)
{
    double v = NAN;

    if (sb_test_value_at(st, name, NULL, 0, t, &v) != 1)
        fail_msg("series %s has no point at %lld", name, (long long)t);
    return v;
}

static bool has_value(sb_store *st, const char *name, int64_t t)
{
    double v;

    return sb_test_value_at(st, name, NULL, 0, t, &v) > 0;
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* A fixture directory standing in for /proc. */
typedef struct fixture {
    char root[128];
} fixture;

static void write_file(const fixture *fx, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", fx->root, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void remove_file(const fixture *fx, const char *name)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", fx->root, name);
    unlink(path);
}

static void fixture_make(fixture *fx)
{
    char path[512];

    snprintf(fx->root, sizeof fx->root, "/tmp/sb_collect_XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    snprintf(path, sizeof path, "%s/self", fx->root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/self/fd", fx->root);
    assert_int_equal(mkdir(path, 0700), 0);
}

static void fixture_remove(fixture *fx)
{
    static const char *const files[] = {"stat",      "meminfo",    "loadavg",
                                        "self/stat", "self/statm", "self/fd/0",
                                        "self/fd/1", "self/fd/2",  "self/fd",
                                        "self",      "missing"};
    char path[512];

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fx->root, files[i]);
        if (unlink(path) != 0)
            rmdir(path);
    }
    rmdir(fx->root);
}

/* ------------------------------------------------------------ runner */

typedef struct mock {
    atomic_int ticks;
    atomic_int destroyed;
    atomic_llong last_now;
    int result; /* what collect returns */
} mock;

static int mock_collect(void *state, sb_store *store, int64_t now_ns)
{
    mock *m = state;

    (void)store;
    atomic_store(&m->last_now, now_ns);
    atomic_fetch_add(&m->ticks, 1);
    return m->result;
}

static void mock_destroy(void *state)
{
    mock *m = state;

    atomic_fetch_add(&m->destroyed, 1);
}

static sb_collector mock_collector(mock *m)
{
    return (sb_collector){.name = "mock",
                          .state = m,
                          .collect = mock_collect,
                          .destroy = mock_destroy};
}

/* Waits up to 5 s for m to reach n ticks. */
static bool wait_ticks(mock *m, int n)
{
    int64_t end = mono_ns() + 5 * SEC;

    while (atomic_load(&m->ticks) < n && mono_ns() < end)
        sleep_ms(2);
    return atomic_load(&m->ticks) >= n;
}

static void test_runner_ticks_every_interval_and_destroys_once(void **state)
{
    sb_store *st = new_store(100, 100);
    mock a = {0}, b = {0};
    sb_collector cols[2] = {mock_collector(&a), mock_collector(&b)};
    sb_runner *r = NULL;

    (void)state;
    assert_int_equal(sb__runner_start(st, cols, 2, 10 * MS, NULL, &r), 0);
    assert_true(wait_ticks(&a, 5));
    assert_true(wait_ticks(&b, 5));
    sb__runner_stop(r);
    assert_int_equal(atomic_load(&a.destroyed), 1);
    assert_int_equal(atomic_load(&b.destroyed), 1);
    sb_store_destroy(st);
}

static void test_runner_ticks_at_once_and_stop_wakes_it(void **state)
{
    sb_store *st = new_store(100, 100);
    mock m = {0};
    sb_collector col = mock_collector(&m);
    sb_runner *r = NULL;
    int64_t before = sb_time_now(), t0;

    (void)state;
    assert_int_equal(sb__runner_start(st, &col, 1, 3600 * SEC, NULL, &r), 0);
    /* The first tick comes at start, not after the hour. */
    assert_true(wait_ticks(&m, 1));
    /* Ticks are stamped with wall-clock time. */
    assert_true(atomic_load(&m.last_now) >= before);
    assert_true(atomic_load(&m.last_now) <= sb_time_now());

    t0 = mono_ns();
    sb__runner_stop(r);
    /* A behavioural bound: stop must not wait for the interval. */
    assert_true(mono_ns() - t0 < SEC / 2);
    assert_int_equal(atomic_load(&m.ticks), 1);
    assert_int_equal(atomic_load(&m.destroyed), 1);
    sb_store_destroy(st);
}

static void test_runner_survives_the_longest_interval(void **state)
{
    sb_store *st = new_store(100, 100);
    mock m = {0};
    sb_collector col = mock_collector(&m);
    sb_runner *r = NULL;
    int64_t t0;

    (void)state;
    assert_int_equal(sb__runner_start(st, &col, 1, INT64_MAX, NULL, &r), 0);
    assert_true(wait_ticks(&m, 1));
    sleep_ms(20);
    t0 = mono_ns();
    sb__runner_stop(r);
    assert_true(mono_ns() - t0 < SEC / 2);
    assert_int_equal(atomic_load(&m.ticks), 1);
    sb_store_destroy(st);
}

static void test_runner_start_failure_destroys_collectors(void **state)
{
    sb_store *st = new_store(100, 100);
    mock m = {0};
    sb_collector col = mock_collector(&m);
    sb_runner *r = NULL;

    (void)state;
    assert_int_equal(sb__runner_start(st, &col, 1, 0, NULL, &r), SB_EINVAL);
    assert_null(r);
    assert_int_equal(atomic_load(&m.destroyed), 1);
    assert_int_equal(atomic_load(&m.ticks), 0);
    sb__runner_stop(NULL);
    sb_store_destroy(st);
}

typedef struct log_capture {
    pthread_mutex_t mu;
    int failed;
    int recovered;
    char last[256];
} log_capture;

static void capture_log(void *ud, int level, const char *line)
{
    log_capture *lc = ud;

    (void)level;
    pthread_mutex_lock(&lc->mu);
    if (strncmp(line, "collector_failed", 16) == 0)
        lc->failed++;
    if (strncmp(line, "collector_recovered", 19) == 0)
        lc->recovered++;
    snprintf(lc->last, sizeof lc->last, "%s", line);
    pthread_mutex_unlock(&lc->mu);
}

static void test_runner_logs_a_failure_once_and_keeps_ticking(void **state)
{
    sb_store *st = new_store(100, 100);
    log_capture lc = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sb_logger lg = {capture_log, &lc, SB_LOG_DEBUG};
    mock m = {.result = SB_ESYS};
    sb_collector col = mock_collector(&m);
    sb_runner *r = NULL;

    (void)state;
    assert_int_equal(sb__runner_start(st, &col, 1, 10 * MS, &lg, &r), 0);
    assert_true(wait_ticks(&m, 5));
    sb__runner_stop(r);
    assert_int_equal(lc.failed, 1);
    assert_int_equal(lc.recovered, 0);
    assert_non_null(strstr(lc.last, "collector=mock"));
    sb_store_destroy(st);
}

static void test_runner_sweeps_the_store_every_tick(void **state)
{
    sb_store_options o;
    sb_store *st = NULL;
    sb_store_stats stats;
    sb_runner *r = NULL;
    sb_sample s = {.name = "old", .value = 1, .time_ns = sb_time_now()};
    int64_t end;

    (void)state;
    sb_store_options_init(&o);
    o.retention_ns = 50 * MS;
    assert_int_equal(sb_store_create(&o, &st), SB_OK);
    assert_int_equal(sb_store_write(st, &s), SB_OK);

    assert_int_equal(sb__runner_start(st, NULL, 0, 10 * MS, NULL, &r), 0);
    end = mono_ns() + 5 * SEC;
    do {
        sleep_ms(10);
        sb_store_stats_get(st, &stats);
    } while (stats.series > 0 && mono_ns() < end);
    sb__runner_stop(r);
    assert_int_equal(stats.series, 0);
    assert_int_equal(stats.points, 0);
    sb_store_destroy(st);
}

/* ------------------------------------------------------------ procfs */

static void test_proc_u64_accepts_plain_digits_only(void **state)
{
    static const struct {
        const char *text;
        int rc;
        uint64_t v;
    } cases[] = {
        {"0", 0, 0},
        {"  42 rest", 0, 42},
        {"\t7\n", 0, 7},
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", SB_ERANGE, 0},
        {"99999999999999999999", SB_ERANGE, 0},
        {"-1", SB_EINVAL, 0},
        {"+1", SB_EINVAL, 0},
        {"", SB_EINVAL, 0},
        {"12x", SB_EINVAL, 0},
        {"0x10", SB_EINVAL, 0},
        {"1.5", SB_EINVAL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = cases[i].text;
        uint64_t v = 12345;
        int rc = sb__proc_u64(&p, &v);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, want %d", cases[i].text, rc, cases[i].rc);
        if (rc == 0)
            assert_true(v == cases[i].v);
    }
}

static void test_proc_double_rejects_non_decimal_text(void **state)
{
    static const char *const bad[] = {"",    "-0.5", "nan",  "inf", "1e5",
                                      "0x1", ".5",   "1.5x", "+1"};
    const char *p;
    double v;

    (void)state;
    p = " 0.52 0.58";
    assert_int_equal(sb__proc_double(&p, &v), 0);
    assert_true(v == 0.52);
    assert_int_equal(sb__proc_double(&p, &v), 0);
    assert_true(v == 0.58);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = bad[i];
        if (sb__proc_double(&p, &v) == 0)
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void test_proc_field_scales_kilobytes(void **state)
{
    const char *text = "MemTotal:       16000 kB\n"
                       "MemFree:  10\n"
                       "HugePages_Total:       3\n"
                       "Big: 18446744073709551615 kB\n"
                       "Bad: 12 MB\n";
    uint64_t v;

    (void)state;
    assert_int_equal(sb__proc_field(text, "MemTotal", &v), 0);
    assert_true(v == 16000u * 1024u);
    assert_int_equal(sb__proc_field(text, "MemFree", &v), 0);
    assert_true(v == 10);
    assert_int_equal(sb__proc_field(text, "HugePages_Total", &v), 0);
    assert_true(v == 3);
    assert_int_equal(sb__proc_field(text, "Mem", &v), SB_EINVAL);
    assert_int_equal(sb__proc_field(text, "Big", &v), SB_ERANGE);
    assert_int_equal(sb__proc_field(text, "Bad", &v), SB_EINVAL);
    assert_int_equal(sb__proc_field(text, "Absent", &v), SB_EINVAL);
}

static void test_proc_find_line_skips_lines_longer_than_a_chunk(void **state)
{
    fixture fx;
    char *text = malloc(20000);
    char line[64];
    char path[512];
    size_t n = 0;

    (void)state;
    fixture_make(&fx);
    n += (size_t)snprintf(text, 20000, "cpu  1 2 3 4\nintr");
    /* A 12 KB line that itself contains the prefix mid-way. */
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(text + n, 20000 - n, " %d", i % 10);
    n += (size_t)snprintf(text + n, 20000 - n, " btime 5\nbtime 1700000000");
    write_file(&fx, "stat", text);
    snprintf(path, sizeof path, "%s/stat", fx.root);

    assert_int_equal(sb__proc_find_line(path, "btime ", line, sizeof line), 0);
    assert_string_equal(line, "btime 1700000000");
    assert_int_equal(sb__proc_find_line(path, "cpu ", line, sizeof line), 0);
    assert_string_equal(line, "cpu  1 2 3 4");
    assert_int_equal(sb__proc_find_line(path, "cpu ", line, 5), SB_ETOOLARGE);
    assert_int_equal(sb__proc_find_line(path, "intr", line, sizeof line),
                     SB_ETOOLARGE);
    assert_int_equal(sb__proc_find_line(path, "nothing", line, sizeof line),
                     SB_EINVAL);
    snprintf(path, sizeof path, "%s/missing", fx.root);
    assert_int_equal(sb__proc_find_line(path, "cpu", line, sizeof line),
                     SB_ESYS);
    free(text);
    fixture_remove(&fx);
}

static void test_proc_read_refuses_files_larger_than_the_buffer(void **state)
{
    fixture fx;
    char path[512];
    char buf[8];
    size_t len;

    (void)state;
    fixture_make(&fx);
    snprintf(path, sizeof path, "%s/loadavg", fx.root);
    write_file(&fx, "loadavg", "1234567");
    assert_int_equal(sb__proc_read(path, buf, sizeof buf, &len), 0);
    assert_int_equal(len, 7);
    assert_string_equal(buf, "1234567");
    write_file(&fx, "loadavg", "12345678");
    assert_int_equal(sb__proc_read(path, buf, sizeof buf, &len), SB_ETOOLARGE);
    remove_file(&fx, "loadavg");
    assert_int_equal(sb__proc_read(path, buf, sizeof buf, &len), SB_ESYS);
    fixture_remove(&fx);
}

/* ------------------------------------------------------------ system */

static const char meminfo_ok[] = "MemTotal:        8000000 kB\n"
                                 "MemFree:         1000000 kB\n"
                                 "MemAvailable:    6000000 kB\n"
                                 "Buffers:          100000 kB\n";

static void write_system_fixture(fixture *fx, const char *cpu_line)
{
    char text[512];

    snprintf(text, sizeof text,
             "%s\ncpu0 1 1 1 1 1 1 1 1 0 0\nintr 1 2 3\nbtime 1700000000\n",
             cpu_line);
    write_file(fx, "stat", text);
    write_file(fx, "meminfo", meminfo_ok);
    write_file(fx, "loadavg", "0.52 1.25 10.00 2/467 12345\n");
}

static void test_system_collector_reads_exact_values(void **state)
{
    sb_store *st = new_store(100, 100);
    sb_collector c;
    fixture fx;
    int64_t t1 = sb_time_now() - 3 * SEC, t2 = t1 + SEC, t3 = t2 + SEC;

    (void)state;
    fixture_make(&fx);
    /* total = 100+0+50+800+50+0+0+0 = 1000, idle = 850; guest columns
     * (last two) are part of user already and must be ignored. */
    write_system_fixture(&fx, "cpu  100 0 50 800 50 0 0 0 70 0");
    assert_int_equal(sb__collector_system_at(fx.root, &c), 0);
    assert_string_equal(c.name, "system");

    assert_int_equal(c.collect(c.state, st, t1), 0);
    assert_false(has_value(st, "system_cpu_usage_percent", t1));
    assert_true(must_value(st, "system_memory_total_bytes", t1) ==
                8000000.0 * 1024);
    assert_true(must_value(st, "system_memory_available_bytes", t1) ==
                6000000.0 * 1024);
    assert_true(must_value(st, "system_load1", t1) == 0.52);
    assert_true(must_value(st, "system_load5", t1) == 1.25);
    assert_true(must_value(st, "system_load15", t1) == 10.0);

    /* +400 total, of which idle + iowait +100: 75% busy. */
    write_system_fixture(&fx, "cpu  400 0 50 850 100 0 0 0 99 0");
    assert_int_equal(c.collect(c.state, st, t2), 0);
    assert_true(must_value(st, "system_cpu_usage_percent", t2) == 75.0);

    /* Counters that did not advance give no value. */
    assert_int_equal(c.collect(c.state, st, t3), 0);
    assert_false(has_value(st, "system_cpu_usage_percent", t3));
    assert_true(has_value(st, "system_load1", t3));

    c.destroy(c.state);
    fixture_remove(&fx);
    sb_store_destroy(st);
}

static void test_system_collector_skips_counters_going_back(void **state)
{
    sb_store *st = new_store(100, 100);
    sb_collector c;
    fixture fx;
    int64_t t = sb_time_now() - 5 * SEC;

    (void)state;
    fixture_make(&fx);
    write_system_fixture(&fx, "cpu  100 0 50 800 50");
    assert_int_equal(sb__collector_system_at(fx.root, &c), 0);
    assert_int_equal(c.collect(c.state, st, t), 0);
    /* idle went backwards: no value, but the reading is the new base. */
    write_system_fixture(&fx, "cpu  300 0 50 700 50");
    assert_int_equal(c.collect(c.state, st, t + SEC), 0);
    assert_false(has_value(st, "system_cpu_usage_percent", t + SEC));
    /* Old kernels: only four columns. +100 total, +50 idle: 50%. */
    write_system_fixture(&fx, "cpu  350 0 50 800");
    assert_int_equal(c.collect(c.state, st, t + 2 * SEC), 0);
    assert_true(must_value(st, "system_cpu_usage_percent", t + 2 * SEC) ==
                50.0);
    c.destroy(c.state);
    fixture_remove(&fx);
    sb_store_destroy(st);
}

static void test_system_collector_reports_malformed_files(void **state)
{
    static const struct {
        const char *file;
        const char *text;
    } cases[] = {
        {"stat", "cpu  1 2 x 4\n"},
        {"stat", "cpu  -1 2 3 4\n"},
        {"stat", "cpu  1 2 3\n"},
        {"stat", "cpu  99999999999999999999 1 1 1\n"},
        {"stat", "cpu  18446744073709551615 1 1 1\n"},
        {"stat", "cpu0 1 2 3 4\n"},
        {"stat", ""},
        {"meminfo", "MemTotal: 10 kB\n"},
        {"meminfo", "MemTotal: ten kB\nMemAvailable: 1 kB\n"},
        {"meminfo", ""},
        {"loadavg", "0.5 0.5\n"},
        {"loadavg", "abc def ghi\n"},
        {"loadavg", "-1.0 0.5 0.5 1/1 1\n"},
        {"loadavg", "nan 0.5 0.5 1/1 1\n"},
    };
    sb_store *st = new_store(100, 100);
    int64_t t = sb_time_now() - 100 * SEC;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sb_collector c;
        fixture fx;
        int rc;

        fixture_make(&fx);
        write_system_fixture(&fx, "cpu  1 2 3 4");
        write_file(&fx, cases[i].file, cases[i].text);
        assert_int_equal(sb__collector_system_at(fx.root, &c), 0);
        rc = c.collect(c.state, st, t + (int64_t)i * SEC);
        if (rc >= 0)
            fail_msg("case %zu (%s: '%s') was accepted", i, cases[i].file,
                     cases[i].text);
        /* The other files still produce their series. */
        if (strcmp(cases[i].file, "loadavg") != 0)
            assert_true(has_value(st, "system_load1", t + (int64_t)i * SEC));
        else
            assert_true(has_value(st, "system_memory_total_bytes",
                                  t + (int64_t)i * SEC));
        c.destroy(c.state);
        fixture_remove(&fx);
    }
    sb_store_destroy(st);
}

static void test_system_collector_missing_file_is_an_error(void **state)
{
    sb_store *st = new_store(100, 100);
    sb_collector c;
    fixture fx;

    (void)state;
    fixture_make(&fx);
    assert_int_equal(sb__collector_system_at(fx.root, &c), 0);
    assert_int_equal(c.collect(c.state, st, sb_time_now()), SB_ESYS);
    c.destroy(c.state);
    fixture_remove(&fx);
    sb_store_destroy(st);
}

/* ------------------------------------------------------------ process */

static void write_process_fixture(fixture *fx, const char *stat)
{
    char text[16384];
    size_t n = 0;

    write_file(fx, "self/stat", stat);
    write_file(fx, "self/statm", "1000 200 50 10 0 300 0\n");
    write_file(fx, "self/fd/0", "");
    write_file(fx, "self/fd/1", "");
    write_file(fx, "self/fd/2", "");
    /* btime comes after an intr line longer than the reader's chunk. */
    n += (size_t)snprintf(text, sizeof text, "cpu  1 2 3 4\nintr");
    for (int i = 0; i < 2500; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, " %d", i % 7);
    snprintf(text + n, sizeof text - n, "\nbtime 1700000000\nprocesses 9\n");
    write_file(fx, "stat", text);
}

static void test_process_collector_parses_comm_with_parens(void **state)
{
    sb_store *st = new_store(100, 100);
    double page = (double)sysconf(_SC_PAGESIZE);
    double tck = (double)sysconf(_SC_CLK_TCK);
    int64_t t = sb_time_now() - SEC;
    struct rlimit rl;
    sb_collector c;
    fixture fx;

    (void)state;
    fixture_make(&fx);
    /* comm holds spaces and ')': fields must be found from the last ')'. */
    write_process_fixture(&fx, "1234 (my ) (prog) x) S 1 1 1 0 -1 4194560 "
                               "100 0 0 0 250 150 0 0 20 0 7 0 5000 "
                               "123456789 789 18446744073709551615\n");
    assert_int_equal(sb__collector_process_at(fx.root, &c), 0);
    assert_string_equal(c.name, "process");
    assert_int_equal(c.collect(c.state, st, t), 0);

    assert_true(must_value(st, "process_cpu_seconds_total", t) == 400.0 / tck);
    assert_true(must_value(st, "process_threads", t) == 7.0);
    assert_true(must_value(st, "process_start_time_seconds", t) ==
                1700000000.0 + 5000.0 / tck);
    assert_true(must_value(st, "process_virtual_memory_bytes", t) ==
                1000.0 * page);
    assert_true(must_value(st, "process_resident_memory_bytes", t) ==
                200.0 * page);
    assert_true(must_value(st, "process_open_fds", t) == 3.0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(must_value(st, "process_max_fds", t) == (double)rl.rlim_cur);
    c.destroy(c.state);
    fixture_remove(&fx);
    sb_store_destroy(st);
}

static void test_process_collector_rejects_malformed_stat(void **state)
{
    static const char *const bad[] = {
        "1234 no parens S 1 1 1 0 -1 4 1 0 0 0 250 150 0 0 20 0 7 0 5\n",
        "1234 (x) S 1 1 1 0 -1 4 1 0 0 0 250\n",
        "1234 (x) S 1 1 1 0 -1 4 1 0 0 0 -250 150 0 0 20 0 7 0 5000\n",
        "1234 (x) S 1 1 1 0 -1 4 1 0 0 0 2x0 150 0 0 20 0 7 0 5000\n",
        "1234 (x) S 1 1 1 0 -1 4 1 0 0 0 250 150 0 0 20 0 7 0\n",
        "",
    };
    sb_store *st = new_store(100, 100);
    int64_t t = sb_time_now() - 50 * SEC;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sb_collector c;
        fixture fx;

        fixture_make(&fx);
        write_process_fixture(&fx, bad[i]);
        assert_int_equal(sb__collector_process_at(fx.root, &c), 0);
        if (c.collect(c.state, st, t + (int64_t)i * SEC) != SB_EINVAL)
            fail_msg("stat '%s' was accepted", bad[i]);
        /* statm and fd still produce their series. */
        assert_true(has_value(st, "process_open_fds", t + (int64_t)i * SEC));
        assert_false(has_value(st, "process_threads", t + (int64_t)i * SEC));
        c.destroy(c.state);
        fixture_remove(&fx);
    }
    sb_store_destroy(st);
}

static void test_real_proc_gives_plausible_values(void **state)
{
    sb_store *st = new_store(100, 100);
    int64_t t = sb_time_now() - 2 * SEC;
    double now_s = (double)sb_time_now() / 1e9;
    sb_collector p, s;

    (void)state;
    assert_int_equal(sb__collector_process(&p), 0);
    assert_int_equal(sb__collector_system(&s), 0);
    assert_int_equal(p.collect(p.state, st, t), 0);
    assert_int_equal(s.collect(s.state, st, t), 0);
    sleep_ms(50);
    assert_int_equal(s.collect(s.state, st, t + SEC), 0);

    assert_true(must_value(st, "process_resident_memory_bytes", t) > 0);
    assert_true(must_value(st, "process_virtual_memory_bytes", t) >=
                must_value(st, "process_resident_memory_bytes", t));
    assert_true(must_value(st, "process_threads", t) >= 1);
    assert_true(must_value(st, "process_open_fds", t) >= 3);
    assert_true(must_value(st, "process_max_fds", t) >=
                must_value(st, "process_open_fds", t));
    assert_true(must_value(st, "process_cpu_seconds_total", t) >= 0);
    assert_true(must_value(st, "process_start_time_seconds", t) <= now_s + 1);
    assert_true(must_value(st, "process_start_time_seconds", t) > now_s - 3600);
    assert_true(must_value(st, "system_memory_total_bytes", t) >=
                must_value(st, "system_memory_available_bytes", t));
    assert_true(must_value(st, "system_load1", t) >= 0);
    p.destroy(p.state);
    s.destroy(s.state);
    sb_store_destroy(st);
}

/* ------------------------------------------------------------ store */

static void test_store_collector_reports_store_figures(void **state)
{
    sb_store *st = new_store(12, 4);
    int64_t t = sb_time_now() - 10 * SEC;
    const char *retention[] = {"reason", "retention"};
    const char *capacity[] = {"reason", "capacity"};
    const char *memory[] = {"reason", "memory"};
    const char *series[] = {"reason", "series_limit"};
    const char *order[] = {"reason", "out_of_order"};
    sb_sample late = {.name = "a", .value = 9, .time_ns = t + 2 * MS};
    sb_collector c;
    double v;

    (void)state;
    /* Five points into a series holding four (in chunks of one): one
     * dropped for capacity. */
    for (int i = 0; i < 5; i++) {
        sb_sample s = {.name = "a", .value = i, .time_ns = t + i * MS};
        assert_int_equal(sb_store_write(st, &s), SB_OK);
    }
    /* Not newer than the chunks before the last two: out of order. */
    assert_int_equal(sb_store_write(st, &late), SB_ERANGE);
    assert_int_equal(sb__collector_store(&c), 0);
    assert_int_equal(c.collect(c.state, st, t + SEC), 0);
    assert_true(must_value(st, "scoreboard_store_sample_bytes", t + SEC) > 0);
    /* One-point chunks: a chunk header and a few bytes each. */
    v = must_value(st, "scoreboard_store_bytes_per_sample", t + SEC);
    assert_true(v > 16 && v < 200);
    assert_int_equal(sb_test_value_at(st,
                                      "scoreboard_store_rejected_samples_total",
                                      order, 1, t + SEC, &v),
                     1);
    assert_true(v == 1.0);
    assert_int_equal(sb_test_value_at(st,
                                      "scoreboard_store_dropped_points_total",
                                      memory, 1, t + SEC, &v),
                     1);
    assert_true(v == 0.0);
    assert_true(must_value(st, "scoreboard_store_series", t + SEC) == 1.0);
    assert_true(must_value(st, "scoreboard_store_points", t + SEC) == 4.0);
    assert_int_equal(sb_test_value_at(st,
                                      "scoreboard_store_dropped_points_total",
                                      capacity, 1, t + SEC, &v),
                     1);
    assert_true(v == 1.0);
    assert_int_equal(sb_test_value_at(st,
                                      "scoreboard_store_dropped_points_total",
                                      retention, 1, t + SEC, &v),
                     1);
    assert_true(v == 0.0);

    /* 1 + 9 own series; two more fill the store, the third is refused. */
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "b%d", i);
        sb_sample s = {.name = name, .value = 1, .time_ns = t};
        assert_int_equal(sb_store_write(st, &s), i < 2 ? SB_OK : SB_ELIMIT);
    }
    assert_int_equal(c.collect(c.state, st, t + 2 * SEC), 0);
    assert_int_equal(sb_test_value_at(st,
                                      "scoreboard_store_rejected_samples_total",
                                      series, 1, t + 2 * SEC, &v),
                     1);
    assert_true(v == 1.0);
    assert_true(must_value(st, "scoreboard_store_series", t + 2 * SEC) == 12.0);
    sb_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner_ticks_every_interval_and_destroys_once),
        cmocka_unit_test(test_runner_ticks_at_once_and_stop_wakes_it),
        cmocka_unit_test(test_runner_survives_the_longest_interval),
        cmocka_unit_test(test_runner_start_failure_destroys_collectors),
        cmocka_unit_test(test_runner_logs_a_failure_once_and_keeps_ticking),
        cmocka_unit_test(test_runner_sweeps_the_store_every_tick),
        cmocka_unit_test(test_proc_u64_accepts_plain_digits_only),
        cmocka_unit_test(test_proc_double_rejects_non_decimal_text),
        cmocka_unit_test(test_proc_field_scales_kilobytes),
        cmocka_unit_test(test_proc_find_line_skips_lines_longer_than_a_chunk),
        cmocka_unit_test(test_proc_read_refuses_files_larger_than_the_buffer),
        cmocka_unit_test(test_system_collector_reads_exact_values),
        cmocka_unit_test(test_system_collector_skips_counters_going_back),
        cmocka_unit_test(test_system_collector_reports_malformed_files),
        cmocka_unit_test(test_system_collector_missing_file_is_an_error),
        cmocka_unit_test(test_process_collector_parses_comm_with_parens),
        cmocka_unit_test(test_process_collector_rejects_malformed_stat),
        cmocka_unit_test(test_real_proc_gives_plausible_values),
        cmocka_unit_test(test_store_collector_reports_store_figures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
