/*
 * reqstats.c - lock-free request statistics and the requests collector.
 *
 * Layout, all fixed at creation:
 *   counts[route][method][status]   cumulative requests, never reset
 *   per route: count, sum_ns        cumulative, never reset
 *              max_ns, buckets[]    this interval; the collector reads
 *                                   and zeroes them with atomic_exchange
 *
 * Status codes are the small set the server sends, plus "other", so the
 * number of series is bounded whatever clients do.
 *
 * Histogram: durations in nanoseconds. Bucket 0 holds [0, 1024 ns). Above
 * that, each power of two [2^e, 2^(e+1)) for e = 10 .. 35 is cut into 32
 * equal sub-buckets, 1 + 26 * 32 = 833 buckets reaching 2^36 ns (about
 * 68.7 s); longer requests go into the last bucket. A quantile is the
 * midpoint of the bucket holding rank ceil(q * n) (nearest rank), clamped
 * to the interval's exact maximum. For a value of at least 1024 ns in
 * range, the midpoint is within half a sub-bucket, i.e. within 1/64
 * (about 1.6%) of the true value.
 *
 * Ordering: a recorder raises max_ns before it increments its bucket and
 * the collector drains the buckets before it takes max_ns, so a request
 * found in an interval's buckets is also in that interval's max. A request
 * finishing during the drain may have its bucket counted in the next
 * interval instead; that interval's max can then be below the request's
 * duration, and its quantiles, clamped to the max, too. Count and sum are
 * cumulative and never lose a request.
 */
#include "collect/reqstats.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define RS_SUB_BITS 5
#define RS_SUB      (1u << RS_SUB_BITS)
#define RS_MIN_EXP  10
#define RS_MAX_EXP  36
#define RS_NBUCKETS (1 + (RS_MAX_EXP - RS_MIN_EXP) * RS_SUB)

#define RS_MAX_ROUTES  64
#define RS_MAX_METHODS 32

static const unsigned status_codes[] = {200, 204, 304, 400, 404, 405,
                                        413, 414, 415, 431, 500, 503};
#define RS_NCODES  (sizeof status_codes / sizeof status_codes[0])
#define RS_NSTATUS (RS_NCODES + 1) /* the last slot is "other" */

static const char *const status_names[RS_NSTATUS] = {
    "200", "204", "304", "400", "404", "405",  "413",
    "414", "415", "431", "500", "503", "other"};

static const struct {
    double q;
    const char *label;
} quantiles[] = {{0.5, "0.5"}, {0.9, "0.9"}, {0.99, "0.99"}};
#define RS_NQUANTILES (sizeof quantiles / sizeof quantiles[0])

/* Series per route besides the counters: count, sum, max, quantiles. */
#define RS_PER_ROUTE (3 + RS_NQUANTILES)

typedef struct rs_route {
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t max_ns;
    _Atomic uint64_t buckets[RS_NBUCKETS];
} rs_route;

struct sb_reqstats {
    const char *const *routes;
    size_t nroutes;
    const char *const *methods;
    size_t nmethods;
    _Atomic uint64_t *counts; /* nroutes * nmethods * RS_NSTATUS */
    rs_route *per_route;
};

static size_t bucket_of(uint64_t v)
{
    unsigned e, sub;

    if (v < (UINT64_C(1) << RS_MIN_EXP))
        return 0;
    e = 63u - (unsigned)__builtin_clzll(v);
    if (e >= RS_MAX_EXP)
        return RS_NBUCKETS - 1;
    sub = (unsigned)(v >> (e - RS_SUB_BITS)) & (RS_SUB - 1);
    return 1 + (size_t)(e - RS_MIN_EXP) * RS_SUB + sub;
}

/* The midpoint of bucket b, in nanoseconds. */
static uint64_t bucket_mid(size_t b)
{
    unsigned e, sub;
    uint64_t lo, width;

    if (b == 0)
        return (UINT64_C(1) << RS_MIN_EXP) / 2;
    b--;
    e = RS_MIN_EXP + (unsigned)(b / RS_SUB);
    sub = (unsigned)(b % RS_SUB);
    width = UINT64_C(1) << (e - RS_SUB_BITS);
    lo = (UINT64_C(1) << e) + sub * width;
    return lo + width / 2;
}

static size_t status_index(unsigned status)
{
    for (size_t i = 0; i < RS_NCODES; i++)
        if (status_codes[i] == status)
            return i;
    return RS_NCODES;
}

int sb__reqstats_create(const char *const *route_names, size_t nroutes,
                        const char *const *method_names, size_t nmethods,
                        sb_reqstats **out)
{
    sb_reqstats *rs;
    size_t ncounts;

    if (route_names == NULL || method_names == NULL || out == NULL ||
        nroutes == 0 || nroutes > RS_MAX_ROUTES || nmethods == 0 ||
        nmethods > RS_MAX_METHODS)
        return SB_EINVAL;
    rs = calloc(1, sizeof *rs);
    if (rs == NULL)
        return SB_ENOMEM;
    ncounts = nroutes * nmethods * RS_NSTATUS;
    rs->counts = calloc(ncounts, sizeof *rs->counts);
    rs->per_route = calloc(nroutes, sizeof *rs->per_route);
    if (rs->counts == NULL || rs->per_route == NULL) {
        sb__reqstats_destroy(rs);
        return SB_ENOMEM;
    }
    for (size_t i = 0; i < ncounts; i++)
        atomic_init(&rs->counts[i], 0);
    for (size_t r = 0; r < nroutes; r++) {
        rs_route *rt = &rs->per_route[r];
        atomic_init(&rt->count, 0);
        atomic_init(&rt->sum_ns, 0);
        atomic_init(&rt->max_ns, 0);
        for (size_t b = 0; b < RS_NBUCKETS; b++)
            atomic_init(&rt->buckets[b], 0);
    }
    rs->routes = route_names;
    rs->nroutes = nroutes;
    rs->methods = method_names;
    rs->nmethods = nmethods;
    *out = rs;
    return 0;
}

void sb__reqstats_destroy(sb_reqstats *rs)
{
    if (rs == NULL)
        return;
    free(rs->counts);
    free(rs->per_route);
    free(rs);
}

static _Atomic uint64_t *counter(sb_reqstats *rs, size_t route, size_t method,
                                 size_t status)
{
    return &rs->counts[(route * rs->nmethods + method) * RS_NSTATUS + status];
}

void sb__reqstats_record(sb_reqstats *rs, unsigned route, unsigned method,
                         unsigned status, int64_t duration_ns)
{
    uint64_t v = duration_ns > 0 ? (uint64_t)duration_ns : 0;
    rs_route *rt;
    uint64_t max;

    if (rs == NULL || route >= rs->nroutes || method >= rs->nmethods)
        return;
    rt = &rs->per_route[route];

    atomic_fetch_add_explicit(counter(rs, route, method, status_index(status)),
                              1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->sum_ns, v, memory_order_relaxed);

    /* max before bucket: see the ordering note at the top. */
    max = atomic_load(&rt->max_ns);
    while (v > max && !atomic_compare_exchange_weak(&rt->max_ns, &max, v))
        ;
    atomic_fetch_add(&rt->buckets[bucket_of(v)], 1);
}

/* ---------------------------------------------------------- collector */

typedef struct req_state {
    sb_reqstats *rs;
    sb_sample *s;
    sb_label (*labels)[3];
    size_t cap;
    uint64_t snap[RS_NBUCKETS];
} req_state;

typedef struct req_tick {
    req_state *st;
    size_t n;
    int64_t now;
} req_tick;

/* Appends a sample with the first nl labels of lab. */
static void add(req_tick *t, const char *name, double v, const sb_label *lab,
                size_t nl)
{
    req_state *st = t->st;
    size_t i = t->n++;

    for (size_t k = 0; k < nl; k++)
        st->labels[i][k] = lab[k];
    st->s[i] = (sb_sample){.name = name,
                           .labels = st->labels[i],
                           .nlabels = nl,
                           .value = v,
                           .time_ns = t->now};
}

static void add_counters(req_tick *t)
{
    sb_reqstats *rs = t->st->rs;

    for (size_t r = 0; r < rs->nroutes; r++)
        for (size_t m = 0; m < rs->nmethods; m++)
            for (size_t c = 0; c < RS_NSTATUS; c++) {
                uint64_t v = atomic_load(counter(rs, r, m, c));
                sb_label lab[3] = {{"route", rs->routes[r]},
                                   {"method", rs->methods[m]},
                                   {"code", status_names[c]}};
                if (v > 0)
                    add(t, "scoreboard_http_requests_total", (double)v, lab, 3);
            }
}

/* The representative value of rank ceil(q * total) in snap, in ns. */
static uint64_t quantile_ns(const uint64_t *snap, uint64_t total, double q,
                            uint64_t max)
{
    uint64_t rank = (uint64_t)(q * (double)total + 0.999999999);
    uint64_t cum = 0;
    size_t b;

    if (rank < 1)
        rank = 1;
    if (rank > total)
        rank = total;
    for (b = 0; b < RS_NBUCKETS - 1; b++) {
        cum += snap[b];
        if (cum >= rank)
            break;
    }
    return bucket_mid(b) < max ? bucket_mid(b) : max;
}

/* Drains one route's interval histogram and adds its summary series. */
static void add_interval(req_tick *t, size_t r, const sb_label *lab)
{
    rs_route *rt = &t->st->rs->per_route[r];
    uint64_t *snap = t->st->snap;
    uint64_t total = 0;
    uint64_t max;

    for (size_t b = 0; b < RS_NBUCKETS; b++) {
        snap[b] = atomic_exchange(&rt->buckets[b], 0);
        total += snap[b];
    }
    max = atomic_exchange(&rt->max_ns, 0);
    if (total == 0)
        return;

    for (size_t i = 0; i < RS_NQUANTILES; i++) {
        sb_label ql[2] = {lab[0], {"quantile", quantiles[i].label}};
        uint64_t ns = quantile_ns(snap, total, quantiles[i].q, max);
        add(t, "scoreboard_http_request_duration_seconds", (double)ns / 1e9, ql,
            2);
    }
    add(t, "scoreboard_http_request_duration_seconds_max", (double)max / 1e9,
        lab, 1);
}

static void add_routes(req_tick *t)
{
    sb_reqstats *rs = t->st->rs;

    for (size_t r = 0; r < rs->nroutes; r++) {
        rs_route *rt = &rs->per_route[r];
        uint64_t count = atomic_load(&rt->count);
        uint64_t sum = atomic_load(&rt->sum_ns);
        sb_label lab[1] = {{"route", rs->routes[r]}};

        if (count > 0) {
            add(t, "scoreboard_http_request_duration_seconds_count",
                (double)count, lab, 1);
            add(t, "scoreboard_http_request_duration_seconds_sum",
                (double)sum / 1e9, lab, 1);
        }
        add_interval(t, r, lab);
    }
}

static int req_collect(void *state, sb_store *store, int64_t now_ns)
{
    req_tick t = {.st = state, .n = 0, .now = now_ns};

    add_counters(&t);
    add_routes(&t);
    if (t.n == 0)
        return 0;
    return sb__collect_write(store, t.st->s, t.n);
}

static void req_destroy(void *state)
{
    req_state *st = state;

    if (st == NULL)
        return;
    free(st->s);
    free(st->labels);
    free(st);
}

int sb__collector_requests(sb_reqstats *rs, sb_collector *out)
{
    req_state *st;

    if (rs == NULL || out == NULL)
        return SB_EINVAL;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return SB_ENOMEM;
    st->rs = rs;
    st->cap =
        rs->nroutes * rs->nmethods * RS_NSTATUS + rs->nroutes * RS_PER_ROUTE;
    st->s = calloc(st->cap, sizeof *st->s);
    st->labels = calloc(st->cap, sizeof *st->labels);
    if (st->s == NULL || st->labels == NULL) {
        req_destroy(st);
        return SB_ENOMEM;
    }
    *out = (sb_collector){.name = "requests",
                          .state = st,
                          .collect = req_collect,
                          .destroy = req_destroy};
    return 0;
}
