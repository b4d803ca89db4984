/*
 * test_stress.c - many writers and readers at once, checked for lost or
 * duplicated points and for inconsistent snapshots.
 *
 * Every point has a global id g; its series and timestamp are a function
 * of g and its value is (double)g, so any point a reader sees can be
 * checked on the spot, and at the end a bitmap over g proves each point
 * is present exactly once.
 *
 *   unique series  NAME_w<w>_s<j>, written by writer w only; point i at
 *                  base - (punique - 1 - i) ms, so each writer's times rise
 *   shared series  NAME_shared_<k>, written by every writer; writer w's
 *                  point i at base - ((pshared - 1 - i) * nwriters + w) ms,
 *                  so timestamps never collide between writers
 *
 * The store refuses a sample older than a series' two newest chunks (the
 * out-of-order window). Writers to a shared series drift apart, so a
 * lagging writer's batch can be refused: the writer then records the
 * batch's point ids as refused (the batch is atomic), and the checks
 * expect every point exactly once except the refused ones, which must
 * be absent.
 *
 * Part 1 drives the store directly (8 writers, 4 readers); part 2 drives
 * an embedded server over HTTP (4 writers, 4 readers, one throttled
 * reader), then stops the server while a throttled download of several
 * megabytes is in flight. Each part repeats rounds (fresh store, fresh
 * server) for a time budget, at least two rounds.
 *
 * Worker threads never call cmocka: they count failures and print the
 * first few; the main thread asserts. Under ThreadSanitizer the point
 * counts drop to a quarter and the budget is 25 s per part instead of
 * 12 s. SB_STRESS_SCALE=1..100 (percent of the points) and
 * SB_STRESS_SECONDS=N override both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeparse.h"
#include "scoreboard.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#endif

#define MAX_WRITERS 8
#define MS          1000000LL

/* ------------------------------------------------------------- layout */

typedef struct layout {
    const char *prefix; /* "st" or "http" */
    int nwriters;
    int nunique;  /* unique series per writer */
    int punique;  /* points per unique series */
    int nshared;  /* shared series */
    int pshared;  /* points per writer per shared series */
    int64_t base; /* newest timestamp */
} layout;

static size_t unique_total(const layout *l)
{
    return (size_t)l->nwriters * (size_t)l->nunique * (size_t)l->punique;
}

static size_t total_points(const layout *l)
{
    return unique_total(l) +
           (size_t)l->nshared * (size_t)l->nwriters * (size_t)l->pshared;
}

static size_t total_series(const layout *l)
{
    return (size_t)l->nwriters * (size_t)l->nunique + (size_t)l->nshared;
}

/* Series index: unique (w, j) -> w * nunique + j; shared k after them. */
static size_t series_of_unique(const layout *l, int w, int j)
{
    return (size_t)w * (size_t)l->nunique + (size_t)j;
}

static size_t series_of_shared(const layout *l, int k)
{
    return (size_t)l->nwriters * (size_t)l->nunique + (size_t)k;
}

static size_t gid_unique(const layout *l, int w, int j, int i)
{
    return series_of_unique(l, w, j) * (size_t)l->punique + (size_t)i;
}

static size_t gid_shared(const layout *l, int k, int w, int i)
{
    return unique_total(l) +
           ((size_t)k * (size_t)l->nwriters + (size_t)w) * (size_t)l->pshared +
           (size_t)i;
}

static void series_name(const layout *l, size_t s, char *out, size_t n)
{
    size_t nu = (size_t)l->nwriters * (size_t)l->nunique;

    if (s < nu)
        snprintf(out, n, "%s_w%zu_s%zu", l->prefix, s / (size_t)l->nunique,
                 s % (size_t)l->nunique);
    else
        snprintf(out, n, "%s_shared_%zu", l->prefix, s - nu);
}

/* Parses a series name of this layout. Returns false for other names. */
static bool parse_series(const layout *l, const char *name, size_t *out)
{
    size_t plen = strlen(l->prefix);
    long a, b;
    char *end;

    if (strncmp(name, l->prefix, plen) != 0 || name[plen] != '_')
        return false;
    name += plen + 1;
    if (strncmp(name, "shared_", 7) == 0) {
        a = strtol(name + 7, &end, 10);
        if (end == name + 7 || *end != '\0' || a < 0 || a >= l->nshared)
            return false;
        *out = series_of_shared(l, (int)a);
        return true;
    }
    if (name[0] != 'w')
        return false;
    a = strtol(name + 1, &end, 10);
    if (end == name + 1 || strncmp(end, "_s", 2) != 0 || a < 0 ||
        a >= l->nwriters)
        return false;
    name = end + 2;
    b = strtol(name, &end, 10);
    if (end == name || *end != '\0' || b < 0 || b >= l->nunique)
        return false;
    *out = series_of_unique(l, (int)a, (int)b);
    return true;
}

/* The id of the point of series s at time t, or SIZE_MAX when no point
 * of the layout has that series and time. */
static size_t gid_of(const layout *l, size_t s, int64_t t)
{
    size_t nu = (size_t)l->nwriters * (size_t)l->nunique;
    int64_t d = l->base - t;

    if (d < 0 || d % MS != 0)
        return SIZE_MAX;
    d /= MS;
    if (s < nu) {
        if (d >= l->punique)
            return SIZE_MAX;
        return s * (size_t)l->punique + (size_t)(l->punique - 1 - d);
    }
    if (d / l->nwriters >= l->pshared)
        return SIZE_MAX;
    return gid_shared(l, (int)(s - nu), (int)(d % l->nwriters),
                      (int)(l->pshared - 1 - d / l->nwriters));
}

/* ------------------------------------------------------------ helpers */

static atomic_int g_failures;

/* refused[g] is set by the one writer of point g when the store refused
 * its batch as out of order; read after the writers are joined. */
static unsigned char *g_refused;
static atomic_size_t g_nrefused;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Counts a failure; prints the first few. Thread-safe. */
static void failure(const char *fmt, ...)
{
    va_list ap;
    char msg[512];

    if (atomic_fetch_add(&g_failures, 1) >= 10)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "stress failure: %s\n", msg);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Percentage applied to point counts. */
static int scale_pct(void)
{
    const char *env = getenv("SB_STRESS_SCALE");
    char *end;
    long v;

    if (env != NULL) {
        v = strtol(env, &end, 10);
        if (end != env && *end == '\0' && v >= 1 && v <= 100)
            return (int)v;
    }
#if defined(STRESS_TSAN)
    return 25;
#else
    return 100;
#endif
}

/* Seconds each part keeps starting new rounds (at least two run). */
static int budget_seconds(void)
{
    const char *env = getenv("SB_STRESS_SECONDS");
    char *end;
    long v;

    if (env != NULL) {
        v = strtol(env, &end, 10);
        if (end != env && *end == '\0' && v >= 0 && v <= 3600)
            return (int)v;
    }
#if defined(STRESS_TSAN)
    return 25;
#else
    return 12;
#endif
}

/* True while another round should start. */
static bool more_rounds(int done, int64_t start_ms)
{
    return done < 2 ||
           (done < 1000 && mono_ms() - start_ms < budget_seconds() * 1000LL);
}

static int scaled(int n)
{
    int v = n * scale_pct() / 100;

    return v > 0 ? v : 1;
}

/* Marks every point id in seen; reports duplicates, unknown points and
 * wrong values. Used by both parts for the final check. */
static void mark_point(const layout *l, unsigned char *seen, size_t series,
                       int64_t t, double value)
{
    size_t g = gid_of(l, series, t);

    if (g == SIZE_MAX) {
        failure("unexpected point series %zu time %lld", series, (long long)t);
        return;
    }
    if (value != (double)g)
        failure("point %zu has value %.17g", g, value);
    if (g_refused[g])
        failure("point %zu was refused but is present", g);
    if (seen[g]++ != 0)
        failure("point %zu present twice", g);
}

static void check_all_seen(const layout *l, const unsigned char *seen)
{
    size_t missing = 0, n = total_points(l);

    for (size_t g = 0; g < n; g++)
        missing += seen[g] == 0 && !g_refused[g];
    if (missing > 0)
        failure("%zu of %zu points lost", missing, n);
}

/* Starts a round's refusal record. */
static void refused_reset(const layout *l)
{
    free(g_refused);
    g_refused = calloc(total_points(l), 1);
    assert_non_null(g_refused);
    atomic_store(&g_nrefused, 0);
}

/* ===================================================== part 1: library */

typedef struct lib_ctx {
    const layout *l;
    sb_store *store;
    atomic_int writers_left;
    atomic_long reads;
} lib_ctx;

typedef struct lib_writer {
    lib_ctx *ctx;
    int w;
    pthread_t th;
} lib_writer;

/* The writer's k-th point, walking point index outer and series inner,
 * so consecutive samples go to different series and shards. Labels and
 * name live in the caller's buffers. */
typedef struct point_ref {
    size_t series;
    int i;
    bool shared;
    int k; /* shared series or unique series j */
} point_ref;

static size_t writer_points(const layout *l)
{
    return (size_t)l->nunique * (size_t)l->punique +
           (size_t)l->nshared * (size_t)l->pshared;
}

static void writer_point(const layout *l, int w, size_t k, point_ref *out)
{
    size_t nu = (size_t)l->nunique * (size_t)l->punique;

    if (k < nu) {
        out->shared = false;
        out->k = (int)(k % (size_t)l->nunique);
        out->i = (int)(k / (size_t)l->nunique);
        out->series = series_of_unique(l, w, out->k);
    } else {
        k -= nu;
        out->shared = true;
        out->k = (int)(k % (size_t)l->nshared);
        out->i = (int)(k / (size_t)l->nshared);
        out->series = series_of_shared(l, out->k);
    }
}

#define LIB_BATCH_MAX 64

typedef struct sample_slot {
    char name[64];
    char lval[16];
    sb_label label;
} sample_slot;

static void fill_sample(const layout *l, int w, const point_ref *p,
                        sample_slot *slot, sb_sample *s)
{
    int64_t d = p->shared ? (int64_t)(l->pshared - 1 - p->i) * l->nwriters + w
                          : (int64_t)(l->punique - 1 - p->i);

    series_name(l, p->series, slot->name, sizeof(slot->name));
    snprintf(slot->lval, sizeof(slot->lval), "%s",
             p->shared ? "shared" : "own");
    slot->label.key = "kind";
    slot->label.value = slot->lval;
    s->name = slot->name;
    s->labels = &slot->label;
    s->nlabels = 1;
    s->time_ns = l->base - d * MS;
    s->value = (double)(p->shared ? gid_shared(l, p->k, w, p->i)
                                  : gid_unique(l, w, p->k, p->i));
}

static void mark_refused(const sb_sample *samples, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_refused[(size_t)samples[i].value] = 1;
    atomic_fetch_add(&g_nrefused, n);
}

static void *lib_writer_main(void *arg)
{
    lib_writer *wr = arg;
    const layout *l = wr->ctx->l;
    size_t total = writer_points(l), k = 0;
    uint64_t rng = 0x9e3779b97f4a7c15u ^ (uint64_t)(wr->w + 1);
    sample_slot slots[LIB_BATCH_MAX];
    sb_sample samples[LIB_BATCH_MAX];
    sb_write_error err;
    point_ref p;
    size_t n, batches = 0;
    int rc;

    while (k < total) {
        n = next_random(&rng) % 3 == 0 ? 1
                                       : 1 + next_random(&rng) % LIB_BATCH_MAX;
        if (n > total - k)
            n = total - k;
        for (size_t i = 0; i < n; i++) {
            writer_point(l, wr->w, k + i, &p);
            fill_sample(l, wr->w, &p, &slots[i], &samples[i]);
        }
        rc = n == 1 ? sb_store_write(wr->ctx->store, &samples[0])
                    : sb_store_write_batch(wr->ctx->store, samples, n, &err);
        /* Every 8th batch is written twice: same series and time replace
         * the value, so no duplicates may appear. */
        if (rc == SB_ERANGE) {
            mark_refused(samples, n);
            rc = 0;
        } else if (rc == 0 && ++batches % 8 == 0) {
            rc = sb_store_write_batch(wr->ctx->store, samples, n, &err);
            if (rc == SB_ERANGE) /* sealed meanwhile: the first write stays */
                rc = 0;
        }
        if (rc != 0)
            failure("writer %d: write of %zu samples: %s", wr->w, n,
                    sb_strerror(rc));
        k += n;
    }
    atomic_fetch_sub(&wr->ctx->writers_left, 1);
    return NULL;
}

/* A points snapshot: sorted by time, every point valid, per-series counts
 * never below the previous snapshot's (nothing expires in this test). */
static void check_points_snapshot(lib_ctx *c, sb_result *res, size_t *counts,
                                  size_t *tmp)
{
    size_t n = sb_result_point_count(res), ns = total_series(c->l), s;
    int64_t prev = INT64_MIN;
    sb_sample pt;

    memset(tmp, 0, ns * sizeof(*tmp));
    for (size_t i = 0; i < n; i++) {
        sb_result_get_point(res, i, &pt);
        if (pt.time_ns < prev)
            failure("snapshot not sorted at %zu", i);
        prev = pt.time_ns;
        if (!parse_series(c->l, pt.name, &s)) {
            failure("unknown series %s", pt.name);
            continue;
        }
        if (gid_of(c->l, s, pt.time_ns) == SIZE_MAX ||
            pt.value != (double)gid_of(c->l, s, pt.time_ns))
            failure("bad point %s @%lld = %g", pt.name, (long long)pt.time_ns,
                    pt.value);
        tmp[s]++;
    }
    for (s = 0; s < ns; s++) {
        if (tmp[s] < counts[s])
            failure("series %zu shrank from %zu to %zu points", s, counts[s],
                    tmp[s]);
        counts[s] = tmp[s];
    }
}

static void check_series_snapshot(lib_ctx *c, sb_result *res, size_t *counts)
{
    size_t n = sb_result_series_count(res), s;
    sb_series_info info;

    for (size_t i = 0; i < n; i++) {
        sb_result_get_series(res, i, &info);
        if (!parse_series(c->l, info.name, &s)) {
            failure("unknown series %s", info.name);
            continue;
        }
        if (info.npoints < counts[s])
            failure("series %s shrank from %zu to %zu points", info.name,
                    counts[s], info.npoints);
        counts[s] = info.npoints;
        if (info.npoints > 0 && info.first_ns > info.last_ns)
            failure("series %s first after last", info.name);
    }
}

static void check_latest_snapshot(lib_ctx *c, sb_result *res, size_t *tmp)
{
    size_t n = sb_result_point_count(res), s;
    sb_sample pt;

    memset(tmp, 0, total_series(c->l) * sizeof(*tmp));
    for (size_t i = 0; i < n; i++) {
        sb_result_get_point(res, i, &pt);
        if (parse_series(c->l, pt.name, &s) && tmp[s]++ != 0)
            failure("latest: series %s twice", pt.name);
    }
}

static void *lib_reader_main(void *arg)
{
    lib_ctx *c = arg;
    size_t ns = total_series(c->l);
    size_t *counts = calloc(ns, sizeof(*counts));
    size_t *scounts = calloc(ns, sizeof(*scounts));
    size_t *tmp = calloc(ns, sizeof(*tmp));
    sb_result *res;
    sb_query q;
    int rc;

    if (counts == NULL || scounts == NULL || tmp == NULL) {
        failure("reader: out of memory");
        goto out;
    }
    for (unsigned iter = 0; atomic_load(&c->writers_left) > 0; iter++) {
        sb_query_init(&q);
        q.series_only = iter % 3 == 1;
        q.latest = iter % 3 == 2;
        rc = sb_store_query(c->store, &q, &res);
        if (rc != 0) {
            failure("query: %s", sb_strerror(rc));
            continue;
        }
        if (q.series_only)
            check_series_snapshot(c, res, scounts);
        else if (q.latest)
            check_latest_snapshot(c, res, tmp);
        else
            check_points_snapshot(c, res, counts, tmp);
        sb_result_free(res);
        atomic_fetch_add(&c->reads, 1);
    }

out:
    free(counts);
    free(scounts);
    free(tmp);
    return NULL;
}

static void lib_final_check(const layout *l, sb_store *store)
{
    unsigned char *seen = calloc(total_points(l), 1);
    sb_result *res = NULL;
    sb_store_stats st;
    sb_sample pt;
    sb_query q;
    size_t s;

    assert_non_null(seen);
    sb_query_init(&q);
    assert_int_equal(sb_store_query(store, &q, &res), 0);
    for (size_t i = 0; i < sb_result_point_count(res); i++) {
        sb_result_get_point(res, i, &pt);
        if (!parse_series(l, pt.name, &s))
            failure("unknown series %s", pt.name);
        else
            mark_point(l, seen, s, pt.time_ns, pt.value);
    }
    check_all_seen(l, seen);
    assert_int_equal(sb_result_point_count(res),
                     total_points(l) - atomic_load(&g_nrefused));
    sb_result_free(res);
    free(seen);

    sb_store_stats_get(store, &st);
    assert_int_equal(st.series, total_series(l));
    assert_int_equal(st.points, total_points(l) - atomic_load(&g_nrefused));
    assert_int_equal(st.dropped_capacity, 0);
    assert_int_equal(st.dropped_retention, 0);
}

static void lib_round(const layout *l)
{
    lib_writer writers[MAX_WRITERS];
    pthread_t readers[4];
    sb_store_options opts;
    lib_ctx c = {.l = l};

    sb_store_options_init(&opts);
    opts.retention_ns = 3600 * 1000 * MS;
    opts.max_points_per_series = 1000000;
    assert_int_equal(sb_store_create(&opts, &c.store), 0);
    atomic_store(&c.writers_left, l->nwriters);
    atomic_store(&c.reads, 0);

    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, lib_reader_main, &c),
                         0);
    for (int w = 0; w < l->nwriters; w++) {
        writers[w].ctx = &c;
        writers[w].w = w;
        assert_int_equal(
            pthread_create(&writers[w].th, NULL, lib_writer_main, &writers[w]),
            0);
    }
    for (int w = 0; w < l->nwriters; w++)
        pthread_join(writers[w].th, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(readers[i], NULL);

    lib_final_check(l, c.store);
    fprintf(stderr,
            "  library round: %zu points (%zu refused as out of order), "
            "%ld reader snapshots\n",
            total_points(l), atomic_load(&g_nrefused),
            (long)atomic_load(&c.reads));
    sb_store_destroy(c.store);
}

static void test_store_concurrent_writers_and_readers(void **state)
{
    layout l = {.prefix = "st",
                .nwriters = 8,
                .nunique = 16,
                .punique = scaled(400),
                .nshared = 4,
                .pshared = scaled(1000)};
    int64_t start = mono_ms();

    (void)state;
    atomic_store(&g_failures, 0);
    for (int r = 0; more_rounds(r, start); r++) {
        l.base = sb_time_now() - 1000 * MS;
        refused_reset(&l);
        lib_round(&l);
        if (atomic_load(&g_failures) != 0)
            break;
    }
    assert_int_equal(atomic_load(&g_failures), 0);
}

/* ======================================================== part 2: HTTP */

typedef struct http_ctx {
    layout l;
    uint16_t port;
    atomic_int writers_left;
    atomic_long requests;
} http_ctx;

typedef struct http_writer {
    http_ctx *ctx;
    int w;
    pthread_t th;
} http_writer;

typedef struct dynbuf {
    char *data;
    size_t len;
    size_t cap;
} dynbuf;

static bool dyn_append(dynbuf *b, const char *s, size_t n)
{
    size_t want;
    char *p;

    if (b->len + n + 1 > b->cap) {
        want = b->cap ? b->cap * 2 : 4096;
        while (want < b->len + n + 1)
            want *= 2;
        p = realloc(b->data, want);
        if (p == NULL)
            return false;
        b->data = p;
        b->cap = want;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    return dyn_append(ud, data, size * nmemb) ? size * nmemb : 0;
}

static void fmt_time(int64_t ns, char *out, size_t n)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ns % 1000000000));
}

/* Performs one request on h; returns the status (0 on transport error)
 * and leaves the body in body (reset first). */
static long perform(CURL *h, const char *url, const char *post, size_t len,
                    dynbuf *body, curl_off_t max_recv)
{
    long status = 0;

    body->len = 0;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    if (max_recv > 0)
        curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, max_recv);
    if (post != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    }
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static void append_point_json(const layout *l, int w, const point_ref *p,
                              dynbuf *out)
{
    sample_slot slot;
    sb_sample s;
    char t[64], item[256];
    int n;

    fill_sample(l, w, p, &slot, &s);
    fmt_time(s.time_ns, t, sizeof(t));
    n = snprintf(item, sizeof(item),
                 "{\"name\":\"%s\",\"value\":%.0f,\"time\":\"%s\","
                 "\"labels\":{\"kind\":\"%s\"}}",
                 s.name, s.value, t, slot.lval);
    dyn_append(out, item, (size_t)n);
}

static void *http_writer_main(void *arg)
{
    http_writer *wr = arg;
    const layout *l = &wr->ctx->l;
    size_t total = writer_points(l), k = 0, n;
    uint64_t rng = 0x2545f4914f6cdd1du ^ (uint64_t)(wr->w + 1);
    CURL *h = curl_easy_init();
    dynbuf req = {0}, resp = {0};
    char url[128];
    point_ref p;
    long status;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics",
             (unsigned)wr->ctx->port);
    while (h != NULL && k < total) {
        /* A third are single point objects, the rest arrays of <= 200. */
        n = next_random(&rng) % 3 == 0 ? 1 : 1 + next_random(&rng) % 200;
        if (n > total - k)
            n = total - k;
        req.len = 0;
        if (n > 1)
            dyn_append(&req, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                dyn_append(&req, ",", 1);
            writer_point(l, wr->w, k + i, &p);
            append_point_json(l, wr->w, &p, &req);
        }
        if (n > 1)
            dyn_append(&req, "]", 1);
        status = perform(h, url, req.data, req.len, &resp, 0);
        if (status == 400 && resp.data != NULL &&
            strstr(resp.data, "out-of-order window") != NULL) {
            for (size_t i = 0; i < n; i++) {
                writer_point(l, wr->w, k + i, &p);
                g_refused[p.shared ? gid_shared(l, p.k, wr->w, p.i)
                                   : gid_unique(l, wr->w, p.k, p.i)] = 1;
            }
            atomic_fetch_add(&g_nrefused, n);
        } else if (status != 204)
            failure("http writer %d: POST of %zu points: status %ld: %.200s",
                    wr->w, n, status, resp.data ? resp.data : "");
        atomic_fetch_add(&wr->ctx->requests, 1);
        k += n;
    }
    if (h == NULL)
        failure("curl_easy_init failed");
    curl_easy_cleanup(h);
    free(req.data);
    free(resp.data);
    atomic_fetch_sub(&wr->ctx->writers_left, 1);
    return NULL;
}

/* Parses a GET /metrics body; checks it is an array sorted by time.
 * Returns the array (json_decref it) or NULL after reporting. */
static json_t *parse_points(const dynbuf *body, const char *what)
{
    json_error_t err;
    json_t *arr = json_loadb(body->data ? body->data : "", body->len,
                             JSON_DECODE_INT_AS_REAL, &err);
    int64_t prev = INT64_MIN, t;
    const char *ts;
    size_t i;
    json_t *pt;

    if (!json_is_array(arr)) {
        failure("%s: not a JSON array: %s", what, err.text);
        json_decref(arr);
        return NULL;
    }
    json_array_foreach(arr, i, pt)
    {
        ts = json_string_value(json_object_get(pt, "time"));
        if (ts == NULL || sb__parse_rfc3339(ts, strlen(ts), &t) != 0) {
            failure("%s: point %zu has a bad time", what, i);
            break;
        }
        if (t < prev)
            failure("%s: not sorted at point %zu", what, i);
        prev = t;
    }
    return arr;
}

/* Per-series counts of this layout's points in arr into tmp; compares
 * with (and updates) counts when counts is non-NULL. */
static void check_counts(const layout *l, const json_t *arr, size_t *counts,
                         size_t *tmp, const char *what)
{
    size_t ns = total_series(l), i, s;
    json_t *pt;

    memset(tmp, 0, ns * sizeof(*tmp));
    json_array_foreach(arr, i, pt)
    {
        if (parse_series(l, json_string_value(json_object_get(pt, "name")), &s))
            tmp[s]++;
    }
    for (s = 0; counts != NULL && s < ns; s++) {
        if (tmp[s] < counts[s])
            failure("%s: series %zu shrank from %zu to %zu", what, s, counts[s],
                    tmp[s]);
        counts[s] = tmp[s];
    }
}

/*
 * Cycles through five queries. Per-series counts are compared only
 * between successive results of the same complete query (all points of
 * the named series, or of every series): limit and latest results are
 * checked for their own shape instead.
 */
static void *http_reader_main(void *arg)
{
    static const char *const queries[] = {
        "/metrics?name=http_shared_0&name=http_shared_1&name=http_shared_2",
        "/metrics", "/metrics?latest=true", "/metrics?limit=100",
        "/api/v1/series"};
    http_ctx *c = arg;
    size_t ns = total_series(&c->l);
    size_t *counts[2] = {calloc(ns, sizeof(size_t)),
                         calloc(ns, sizeof(size_t))};
    size_t *tmp = calloc(ns, sizeof(*tmp));
    CURL *h = curl_easy_init();
    dynbuf body = {0};
    char url[256];
    json_t *arr;
    long status;

    for (unsigned it = 0; h != NULL && counts[0] != NULL && counts[1] != NULL &&
                          tmp != NULL && atomic_load(&c->writers_left) > 0;
         it++) {
        unsigned kind = it % 5;
        const char *q = queries[kind];

        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)c->port,
                 q);
        status = perform(h, url, NULL, 0, &body, 0);
        atomic_fetch_add(&c->requests, 1);
        if (status != 200) {
            failure("GET %s: status %ld", q, status);
            continue;
        }
        if (kind == 4)
            continue; /* the series listing: status only */
        arr = parse_points(&body, q);
        if (arr == NULL)
            continue;
        if (kind == 3 && json_array_size(arr) > 100)
            failure("limit=100 returned %zu points", json_array_size(arr));
        check_counts(&c->l, arr, kind < 2 ? counts[kind] : NULL, tmp, q);
        for (size_t s = 0; kind == 2 && s < ns; s++) {
            if (tmp[s] > 1)
                failure("latest: series %zu appears %zu times", s, tmp[s]);
        }
        json_decref(arr);
    }
    curl_easy_cleanup(h);
    free(body.data);
    free(counts[0]);
    free(counts[1]);
    free(tmp);
    return NULL;
}

/* A throttled download of all of /metrics; aborts once `abort` is set. */
typedef struct slow_get {
    char url[128];
    curl_off_t speed;
    _Atomic size_t received;
    _Atomic bool abort;
    long status;
    dynbuf body;
    pthread_t th;
} slow_get;

static size_t slow_body(char *data, size_t size, size_t nmemb, void *ud)
{
    slow_get *s = ud;

    if (atomic_load(&s->abort))
        return 0;
    atomic_fetch_add(&s->received, size * nmemb);
    return dyn_append(&s->body, data, size * nmemb) ? size * nmemb : 0;
}

static int slow_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                         curl_off_t ultotal, curl_off_t ulnow)
{
    slow_get *s = ud;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(&s->abort) ? 1 : 0;
}

/* A small receive buffer keeps most of the response in the server, so a
 * stop really happens with the request in flight. */
static int small_rcvbuf(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    int size = 8192;

    (void)ud;
    if (purpose == CURLSOCKTYPE_IPCXN)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return CURL_SOCKOPT_OK;
}

static void *slow_get_main(void *arg)
{
    slow_get *s = arg;
    CURL *h = curl_easy_init();

    if (h == NULL)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 180000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, slow_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, s->speed);
    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, small_rcvbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, slow_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->status);
    curl_easy_cleanup(h);
    return NULL;
}

static void http_final_check(http_ctx *c)
{
    const layout *l = &c->l;
    unsigned char *seen = calloc(total_points(l), 1);
    CURL *h = curl_easy_init();
    dynbuf body = {0};
    char url[128];
    json_t *arr, *pt;
    const char *ts;
    size_t i, s;
    int64_t t;

    assert_non_null(seen);
    assert_non_null(h);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics",
             (unsigned)c->port);
    assert_int_equal(perform(h, url, NULL, 0, &body, 0), 200);
    arr = parse_points(&body, "final GET /metrics");
    assert_non_null(arr);
    json_array_foreach(arr, i, pt)
    {
        if (!parse_series(l, json_string_value(json_object_get(pt, "name")),
                          &s))
            continue; /* the server's own series */
        ts = json_string_value(json_object_get(pt, "time"));
        if (ts == NULL || sb__parse_rfc3339(ts, strlen(ts), &t) != 0) {
            failure("final: bad time");
            continue;
        }
        mark_point(l, seen, s, t,
                   json_number_value(json_object_get(pt, "value")));
    }
    check_all_seen(l, seen);
    json_decref(arr);
    curl_easy_cleanup(h);
    free(body.data);
    free(seen);
}

static sb_server *start_server(sb_store *store)
{
    sb_server_options opts;
    sb_server *srv = NULL;

    sb_server_options_init(&opts);
    opts.listen = "127.0.0.1:0";
    opts.collect_process = false;
    opts.collect_system = false;
    opts.interval_ns = 100 * MS;
    opts.max_body = 8u << 20; /* for post_bulk() */
    opts.log = NULL;          /* silent */
    assert_int_equal(sb_server_start(store, &opts, &srv), 0);
    assert_true(sb_server_port(srv) != 0);
    return srv;
}

static void run_http_load(http_ctx *c)
{
    http_writer writers[MAX_WRITERS];
    pthread_t readers[4];
    slow_get slow = {.speed = 256 * 1024};

    atomic_store(&c->writers_left, c->l.nwriters);
    snprintf(slow.url, sizeof(slow.url), "http://127.0.0.1:%u/metrics",
             (unsigned)c->port);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, http_reader_main, c),
                         0);
    assert_int_equal(pthread_create(&slow.th, NULL, slow_get_main, &slow), 0);
    for (int w = 0; w < c->l.nwriters; w++) {
        writers[w].ctx = c;
        writers[w].w = w;
        assert_int_equal(
            pthread_create(&writers[w].th, NULL, http_writer_main, &writers[w]),
            0);
    }
    for (int w = 0; w < c->l.nwriters; w++)
        pthread_join(writers[w].th, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(readers[i], NULL);
    pthread_join(slow.th, NULL);

    /* The throttled reader got a complete, consistent snapshot. */
    assert_int_equal(slow.status, 200);
    json_decref(parse_points(&slow.body, "slow GET /metrics"));
    free(slow.body.data);
}

/* Adds about 4.5 MB of points with 1000-byte labels under "bulk_pt", so
 * a GET of every point outgrows the socket buffers. */
static void post_bulk(http_ctx *c)
{
    char pad[1001], t[64], url[128], item[1300];
    dynbuf req = {0}, resp = {0};
    CURL *h = curl_easy_init();
    int n;

    assert_non_null(h);
    memset(pad, 'x', 1000);
    pad[1000] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics",
             (unsigned)c->port);
    for (int b = 0; b < 4; b++) {
        req.len = 0;
        dyn_append(&req, "[", 1);
        for (int i = 0; i < 1000; i++) {
            fmt_time(c->l.base - (int64_t)i * MS, t, sizeof(t));
            n = snprintf(item, sizeof(item),
                         "%s{\"name\":\"bulk_pt\",\"value\":%d,\"time\":"
                         "\"%s\",\"labels\":{\"b\":\"%d\",\"pad\":\"%s\"}}",
                         i ? "," : "", i, t, b, pad);
            dyn_append(&req, item, (size_t)n);
        }
        dyn_append(&req, "]", 1);
        if (perform(h, url, req.data, req.len, &resp, 0) != 204)
            failure("bulk POST failed: %.200s", resp.data ? resp.data : "");
    }
    curl_easy_cleanup(h);
    free(req.data);
    free(resp.data);
}

/* Stops the server while a throttled download is in flight; the stop
 * must not wait for the client (the server gives in-flight requests
 * about half a second). */
static void stop_during_download(http_ctx *c, sb_server *srv)
{
    slow_get slow = {.speed = 16 * 1024};
    int64_t deadline, t0;

    post_bulk(c);
    snprintf(slow.url, sizeof(slow.url), "http://127.0.0.1:%u/metrics",
             (unsigned)c->port);
    assert_int_equal(pthread_create(&slow.th, NULL, slow_get_main, &slow), 0);
    deadline = mono_ms() + 20000;
    while (atomic_load(&slow.received) == 0 && mono_ms() < deadline) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 5 * MS};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&slow.received) == 0)
        failure("throttled download never started");
    t0 = mono_ms();
    sb_server_stop(srv);
    if (mono_ms() - t0 > 3000)
        failure("sb_server_stop took %lld ms with a download in flight",
                (long long)(mono_ms() - t0));
    fprintf(stderr, "  sb_server_stop with a download in flight: %lld ms\n",
            (long long)(mono_ms() - t0));
    atomic_store(&slow.abort, true);
    pthread_join(slow.th, NULL);
    free(slow.body.data);
}

/* One round: a fresh store and server, the load, the check, the stop. */
static void http_round(void)
{
    http_ctx c = {.l = {.prefix = "http",
                        .nwriters = 4,
                        .nunique = 8,
                        .punique = scaled(600),
                        .nshared = 4,
                        .pshared = scaled(600)}};
    sb_store_options opts;
    sb_store *store = NULL;
    sb_server *srv;

    sb_store_options_init(&opts);
    opts.max_points_per_series = 1000000;
    assert_int_equal(sb_store_create(&opts, &store), 0);
    srv = start_server(store);
    c.port = sb_server_port(srv);
    c.l.base = sb_time_now() - 1000 * MS;

    refused_reset(&c.l);
    run_http_load(&c);
    http_final_check(&c);
    fprintf(stderr,
            "  http round: %zu points (%zu refused as out of order), %ld "
            "requests\n",
            total_points(&c.l), atomic_load(&g_nrefused),
            (long)atomic_load(&c.requests));
    stop_during_download(&c, srv);
    sb_store_destroy(store);
}

static void test_http_concurrent_writers_and_readers(void **state)
{
    int64_t start = mono_ms();

    (void)state;
    atomic_store(&g_failures, 0);
    for (int r = 0; more_rounds(r, start); r++) {
        http_round();
        if (atomic_load(&g_failures) != 0)
            break;
    }
    assert_int_equal(atomic_load(&g_failures), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_concurrent_writers_and_readers),
        cmocka_unit_test(test_http_concurrent_writers_and_readers),
    };
    int failed;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed = cmocka_run_group_tests_name("stress", tests, NULL, NULL);
    curl_global_cleanup();
    return failed != 0;
}
