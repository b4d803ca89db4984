/*
 * statsd.c - the StatsD aggregation table and its flush (see statsd.h).
 *
 * The table is a fixed array of hash buckets (chained) keyed by SipHash
 * of a serialised key: the type byte, the name, then every tag key and
 * value, each NUL-terminated; tags are sorted by the parser, so the same
 * tags in another order land on the same key. One mutex guards the
 * table: the listener threads take it once per packet (parsing included,
 * so a packet's lines land in one interval), the collector thread for
 * the whole flush (an in-memory store write, no I/O), during which the
 * receivers' datagrams wait in the socket buffer.
 *
 * Per key state:
 *   counter  cumulative sum of value / rate since the key was created
 *   gauge    the current value (deltas add to it)
 *   timer    count (sum of 1 / rate), sum (of value / rate), min, max,
 *            the sum and number of received values (for the mean) and a
 *            reservoir of received values for the quantiles (all of them
 *            while there are at most `reservoir`; a uniform sample after)
 *   set      an open-addressing set of 64-bit member hashes
 * Counters and gauges are written every flush and forgotten after
 * `idle_flushes` flushes without an update; timers and sets are written
 * only for intervals in which they were updated, and reset each flush.
 *
 * Counters of this receiver are atomics, so the hot path only takes the
 * table lock for the table itself.
 */
#include "collect/statsd.h"

#include "common/hash.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS          16384 /* power of two, above the default max_keys */
#define FIRST_CAP         16    /* first allocation of samples/members */
#define MALFORMED_PER_SEC 10
#define NS_PER_SEC        1000000000LL
#define LOG_LINE_BYTES    80
#define SAMPLES_PER_KEY   8 /* count sum min max mean p50 p90 p99 */
#define OUT_NAME_MAX      (SB_NAME_MAX + 1)

typedef struct agg_entry {
    struct agg_entry *next;
    uint64_t hash;
    char *key; /* serialised key, owned; name and tags point into it */
    size_t key_len;
    const char *name;
    sb_label *tags; /* ntags + 1 slots: the last is for `quantile` */
    size_t ntags;
    int type;
    unsigned idle; /* flushes since the last update */
    bool updated;  /* this interval */

    double value; /* counter total or gauge value */

    double count, sum, vsum, min, max; /* timers, this interval */
    uint64_t n;                        /* values received */
    double *samples;
    size_t nsamples, scap;

    uint64_t *members; /* sets: 0 marks a free slot */
    size_t nmembers, mcap;
} agg_entry;

struct sb_statsd_agg {
    sb_statsd_limits lim;
    sb_logger log;
    sb_ratelimit badlimit;
    uint8_t hkey[16];

    pthread_mutex_t mu; /* guards everything below up to the atomics */
    agg_entry **buckets;
    size_t nkeys;
    size_t values; /* samples + member slots allocated this interval */
    uint64_t rng;

    _Atomic uint64_t packets;
    _Atomic uint64_t lines[SB_STATSD_NTRANS];
    _Atomic uint64_t malformed[SB_STATSD_NTRANS];
    _Atomic uint64_t dropped[SB_STATSD_NDROP];
    _Atomic uint64_t write_errors;
    _Atomic int64_t connections;
};

void sb__statsd_limits_init(sb_statsd_limits *lim)
{
    lim->max_keys = 10000;
    lim->reservoir = 4096;
    lim->set_max = 65536;
    lim->max_values = 4u << 20;
    lim->idle_flushes = 300;
}

int sb__statsd_agg_create(const sb_statsd_limits *lim, const sb_logger *log,
                          sb_statsd_agg **out)
{
    sb_statsd_agg *agg = calloc(1, sizeof *agg);

    if (agg == NULL)
        return SB_ENOMEM;
    agg->buckets = calloc(NBUCKETS, sizeof *agg->buckets);
    if (agg->buckets == NULL) {
        free(agg);
        return SB_ENOMEM;
    }
    if (pthread_mutex_init(&agg->mu, NULL) != 0) {
        free(agg->buckets);
        free(agg);
        return SB_ESYS;
    }
    if (lim != NULL)
        agg->lim = *lim;
    else
        sb__statsd_limits_init(&agg->lim);
    if (log != NULL)
        agg->log = *log;
    sb__ratelimit_init(&agg->badlimit, MALFORMED_PER_SEC, NS_PER_SEC);
    sb__hash_random_key(agg->hkey);
    agg->rng = 0x9e3779b97f4a7c15ULL;
    *out = agg;
    return 0;
}

static void entry_reset_interval(sb_statsd_agg *agg, agg_entry *e)
{
    agg->values -= e->scap + e->mcap;
    free(e->samples);
    free(e->members);
    e->samples = NULL;
    e->members = NULL;
    e->nsamples = e->scap = e->nmembers = e->mcap = 0;
    e->count = e->sum = e->vsum = e->min = e->max = 0;
    e->n = 0;
}

static void entry_free(agg_entry *e)
{
    free(e->samples);
    free(e->members);
    free(e->tags);
    free(e->key);
    free(e);
}

void sb__statsd_agg_destroy(sb_statsd_agg *agg)
{
    if (agg == NULL)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        agg_entry *e = agg->buckets[b];

        while (e != NULL) {
            agg_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    free(agg->buckets);
    pthread_mutex_destroy(&agg->mu);
    free(agg);
}

/* ------------------------------------------------------------- keys */

/* Serialises the key of line into buf (size n); returns its length, or
 * 0 when it does not fit (cannot happen within the parser's limits). */
static size_t serialise_key(const sb_statsd_line *l, char *buf, size_t n)
{
    size_t len = 0;

    buf[len++] = (char)('0' + l->type);
#define PUT(s)                                                                 \
    do {                                                                       \
        size_t k_ = strlen(s) + 1;                                             \
        if (k_ > n - len)                                                      \
            return 0;                                                          \
        memcpy(buf + len, (s), k_);                                            \
        len += k_;                                                             \
    } while (0)
    PUT(l->name);
    for (size_t i = 0; i < l->ntags; i++) {
        PUT(l->tags[i].key);
        PUT(l->tags[i].value);
    }
#undef PUT
    return len;
}

/* A new entry owning a copy of key, with name and tags pointing into it. */
static agg_entry *entry_new(const sb_statsd_line *l, const char *key,
                            size_t key_len, uint64_t hash)
{
    agg_entry *e = calloc(1, sizeof *e);
    const char *p;

    if (e == NULL)
        return NULL;
    e->key = malloc(key_len);
    e->tags = calloc(l->ntags + 1, sizeof *e->tags);
    if (e->key == NULL || e->tags == NULL) {
        entry_free(e);
        return NULL;
    }
    memcpy(e->key, key, key_len);
    e->key_len = key_len;
    e->hash = hash;
    e->type = l->type;
    e->name = e->key + 1;
    p = e->name + strlen(e->name) + 1;
    for (size_t i = 0; i < l->ntags; i++) {
        e->tags[i].key = p;
        p += strlen(p) + 1;
        e->tags[i].value = p;
        p += strlen(p) + 1;
    }
    e->ntags = l->ntags;
    return e;
}

/* The entry for l, created when absent. NULL when the table is full
 * (SB_ELIMIT) or memory ran out (SB_ENOMEM) - *rc says which. Called
 * with mu held. */
static agg_entry *lookup(sb_statsd_agg *agg, const sb_statsd_line *l, char *key,
                         size_t keymax, int *rc)
{
    size_t key_len = serialise_key(l, key, keymax);
    uint64_t h;
    agg_entry **slot, *e;

    *rc = SB_ETOOLARGE;
    if (key_len == 0)
        return NULL;
    h = sb__siphash24(agg->hkey, key, key_len);
    slot = &agg->buckets[h & (NBUCKETS - 1)];
    for (e = *slot; e != NULL; e = e->next)
        if (e->hash == h && e->key_len == key_len &&
            memcmp(e->key, key, key_len) == 0)
            return e;
    *rc = SB_ELIMIT;
    if (agg->nkeys >= agg->lim.max_keys)
        return NULL;
    *rc = SB_ENOMEM;
    e = entry_new(l, key, key_len, h);
    if (e == NULL)
        return NULL;
    e->next = *slot;
    *slot = e;
    agg->nkeys++;
    return e;
}

/* ------------------------------------------------------------- update */

static uint64_t next_rand(sb_statsd_agg *agg)
{
    uint64_t x = agg->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    agg->rng = x;
    return x;
}

/* Doubles an array of samples within cap and the global budget.
 * Returns the new capacity, or the old one when it may not grow. */
static size_t grow(sb_statsd_agg *agg, double **arr, size_t cur, size_t cap)
{
    size_t want = cur == 0 ? FIRST_CAP : cur * 2;
    double *p;

    if (want > cap)
        want = cap;
    if (want <= cur || want - cur > agg->lim.max_values - agg->values)
        return cur;
    p = realloc(*arr, want * sizeof **arr);
    if (p == NULL)
        return cur;
    *arr = p;
    agg->values += want - cur;
    return want;
}

static void add_timer(sb_statsd_agg *agg, agg_entry *e, double v, double rate)
{
    if (e->n == 0 || v < e->min)
        e->min = v;
    if (e->n == 0 || v > e->max)
        e->max = v;
    e->count += 1 / rate;
    e->sum += v / rate;
    e->vsum += v;
    e->n++;
    if (e->nsamples == e->scap)
        e->scap = grow(agg, &e->samples, e->scap, agg->lim.reservoir);
    if (e->nsamples < e->scap) {
        e->samples[e->nsamples++] = v;
    } else if (e->scap > 0) {
        /* Reservoir sampling: value n replaces a random slot with
         * probability scap / n. */
        uint64_t j = next_rand(agg) % e->n;

        if (j < e->scap)
            e->samples[j] = v;
    }
}

/* Rebuilds the member table at twice its capacity (a power of two),
 * within the global budget. */
static bool rehash_members(sb_statsd_agg *agg, agg_entry *e)
{
    uint64_t *old = e->members;
    size_t oldcap = e->mcap;
    size_t cap = oldcap ? oldcap * 2 : FIRST_CAP;
    uint64_t *fresh;

    if (cap - oldcap > agg->lim.max_values - agg->values)
        return false;
    fresh = calloc(cap, sizeof *fresh);
    if (fresh == NULL)
        return false;
    for (size_t i = 0; i < oldcap; i++) {
        size_t j;

        if (old[i] == 0)
            continue;
        for (j = old[i] & (cap - 1); fresh[j] != 0; j = (j + 1) & (cap - 1))
            ;
        fresh[j] = old[i];
    }
    agg->values += cap - oldcap;
    free(old);
    e->members = fresh;
    e->mcap = cap;
    return true;
}

/* Adds a member; false when the set is full (limit or budget). */
static bool add_member(sb_statsd_agg *agg, agg_entry *e, const char *m,
                       size_t len)
{
    uint64_t h = sb__siphash24(agg->hkey, m, len);
    size_t j;

    h = h == 0 ? 1 : h;
    for (j = e->mcap ? h & (e->mcap - 1) : 0; e->mcap && e->members[j] != 0;
         j = (j + 1) & (e->mcap - 1))
        if (e->members[j] == h)
            return true;
    if (e->nmembers >= agg->lim.set_max)
        return false;
    /* Keep the load factor at most one half. */
    if ((e->nmembers + 1) * 2 > e->mcap) {
        if (!rehash_members(agg, e))
            return false;
        for (j = h & (e->mcap - 1); e->members[j] != 0;
             j = (j + 1) & (e->mcap - 1))
            ;
    }
    e->members[j] = h;
    e->nmembers++;
    return true;
}

/* Whether adding l to e keeps every running figure finite: a tiny
 * sample rate or huge values could otherwise turn a total into an
 * infinity (and a later one into NaN). */
static bool stays_finite(const agg_entry *e, const sb_statsd_line *l)
{
    switch (e->type) {
    case SB_STATSD_COUNTER:
        return isfinite(e->value + l->value / l->rate);
    case SB_STATSD_GAUGE:
        return !l->delta || isfinite(e->value + l->value);
    case SB_STATSD_TIMER:
    case SB_STATSD_HISTOGRAM:
        return isfinite(e->count + 1 / l->rate) &&
               isfinite(e->sum + l->value / l->rate) &&
               isfinite(e->vsum + l->value);
    default:
        return true;
    }
}

/* Folds l into e. SB_ERANGE (nothing changed) when a figure would stop
 * being finite. */
static int apply(sb_statsd_agg *agg, agg_entry *e, const sb_statsd_line *l)
{
    if (!stays_finite(e, l))
        return SB_ERANGE;
    e->updated = true;
    e->idle = 0;
    switch (e->type) {
    case SB_STATSD_COUNTER:
        e->value += l->value / l->rate;
        break;
    case SB_STATSD_GAUGE:
        e->value = l->delta ? e->value + l->value : l->value;
        break;
    case SB_STATSD_TIMER:
    case SB_STATSD_HISTOGRAM:
        add_timer(agg, e, l->value, l->rate);
        break;
    case SB_STATSD_SET:
        if (!add_member(agg, e, l->member, l->member_len))
            atomic_fetch_add(&agg->dropped[SB_STATSD_DROP_SET_LIMIT], 1);
        break;
    default:
        break;
    }
    return 0;
}

/* Adds a parsed line with mu held; 0 or the reason it was dropped. */
static int add_locked(sb_statsd_agg *agg, const sb_statsd_line *line, char *key,
                      size_t keymax)
{
    int rc = 0;
    agg_entry *e = lookup(agg, line, key, keymax, &rc);

    if (e == NULL) {
        atomic_fetch_add(&agg->dropped[SB_STATSD_DROP_KEY_LIMIT], 1);
        return rc;
    }
    return apply(agg, e, line);
}

int sb__statsd_agg_add(sb_statsd_agg *agg, const sb_statsd_line *line)
{
    char key[SB_STATSD_TEXT_MAX + 1];
    int rc;

    pthread_mutex_lock(&agg->mu);
    rc = add_locked(agg, line, key, sizeof key);
    pthread_mutex_unlock(&agg->mu);
    return rc;
}

/* ------------------------------------------------------------- feed */

static const char *transport_name(int t)
{
    return t == SB_STATSD_TCP ? "tcp" : "udp";
}

/* Logs a malformed line (rate-limited); n_more other malformed lines of
 * the same packet are mentioned, not logged. */
static void log_malformed(sb_statsd_agg *agg, int transport, const char *reason,
                          const char *line, size_t len, uint64_t n_more)
{
    char text[LOG_LINE_BYTES + 1], q[4 * LOG_LINE_BYTES + 8], rq[96];
    uint64_t suppressed = 0;
    size_t n = len < LOG_LINE_BYTES ? len : LOG_LINE_BYTES;

    if (agg->log.fn == NULL || agg->log.level < SB_LOG_WARN)
        return;
    if (!sb__ratelimit_allow(&agg->badlimit, sb_time_now(), &suppressed))
        return;
    memcpy(text, line, n);
    text[n] = '\0'; /* a NUL byte inside ends the logged text early */
    SB_LOG(&agg->log, SB_LOG_WARN,
           "statsd_malformed transport=%s reason=%s line=%s%s "
           "others_in_packet=%llu suppressed=%llu",
           transport_name(transport), sb__log_quote(reason, rq, sizeof rq),
           sb__log_quote(text, q, sizeof q), len > n ? "..." : "",
           (unsigned long long)n_more, (unsigned long long)suppressed);
}

void sb__statsd_agg_malformed(sb_statsd_agg *agg, int transport,
                              const char *reason, const char *line, size_t len)
{
    atomic_fetch_add(&agg->lines[transport], 1);
    atomic_fetch_add(&agg->malformed[transport], 1);
    log_malformed(agg, transport, reason, line, len, 0);
}

/*
 * The whole packet is applied under one lock, so its lines land in the
 * same flush interval (a client batching a timer's values into one
 * datagram gets them aggregated together). Malformed lines are counted
 * under the lock and the first one is logged after it is released.
 */
void sb__statsd_agg_feed(sb_statsd_agg *agg, int transport, const char *buf,
                         size_t len, sb_statsd_line *scratch)
{
    char key[SB_STATSD_TEXT_MAX + 1];
    const char *p = buf, *end = buf + len, *bad = NULL, *bad_reason = NULL;
    size_t bad_len = 0;
    uint64_t nlines = 0, nbad = 0;

    pthread_mutex_lock(&agg->mu);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl != NULL ? nl : end) - p);
        const char *reason = NULL;

        if (n > 0 && !(n == 1 && p[0] == '\r')) {
            nlines++;
            if (sb__statsd_parse(p, n, scratch, &reason) == 0 &&
                add_locked(agg, scratch, key, sizeof key) == SB_ERANGE)
                reason = "value overflows the aggregate";
            if (reason != NULL && nbad++ == 0) {
                bad = p;
                bad_len = n;
                bad_reason = reason;
            }
        }
        p += n + 1;
    }
    pthread_mutex_unlock(&agg->mu);
    atomic_fetch_add(&agg->lines[transport], nlines);
    if (nbad > 0) {
        atomic_fetch_add(&agg->malformed[transport], nbad);
        log_malformed(agg, transport, bad_reason, bad, bad_len, nbad - 1);
    }
}

void sb__statsd_agg_count_packets(sb_statsd_agg *agg, uint64_t n)
{
    atomic_fetch_add(&agg->packets, n);
}

void sb__statsd_agg_count_drop(sb_statsd_agg *agg, int reason, uint64_t n)
{
    if (reason >= 0 && reason < SB_STATSD_NDROP)
        atomic_fetch_add(&agg->dropped[reason], n);
}

void sb__statsd_agg_count_connection(sb_statsd_agg *agg, int delta)
{
    atomic_fetch_add(&agg->connections, delta);
}

void sb__statsd_agg_stats(sb_statsd_agg *agg, sb_statsd_stats *out)
{
    memset(out, 0, sizeof *out);
    out->packets = atomic_load(&agg->packets);
    for (int t = 0; t < SB_STATSD_NTRANS; t++) {
        out->lines[t] = atomic_load(&agg->lines[t]);
        out->malformed[t] = atomic_load(&agg->malformed[t]);
    }
    for (int d = 0; d < SB_STATSD_NDROP; d++)
        out->dropped[d] = atomic_load(&agg->dropped[d]);
    out->write_errors = atomic_load(&agg->write_errors);
    pthread_mutex_lock(&agg->mu);
    out->keys = agg->nkeys;
    pthread_mutex_unlock(&agg->mu);
}

/* ------------------------------------------------------------- flush */

/* a then b into out (size n), cut to fit; names here stay below
 * SB_NAME_MAX by the parser's SB_STATSD_NAME_MAX, so nothing is cut. */
static void join(char *out, size_t n, const char *a, const char *b)
{
    size_t la = strnlen(a, n - 1), lb = strnlen(b, n - 1 - la);

    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    out[la + lb] = '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank quantile (permille) of the sorted samples: the value at
 * rank ceil(p * n / 1000), in integers so 0.99 * 100 is exactly 99. */
static double quantile(const double *sorted, size_t n, unsigned permille)
{
    size_t rank = (permille * n + 999) / 1000;

    return sorted[rank > 0 ? rank - 1 : 0];
}

/* The samples one key writes this flush: up to SAMPLES_PER_KEY. */
typedef struct key_out {
    sb_sample s[SAMPLES_PER_KEY];
    char names[SAMPLES_PER_KEY][OUT_NAME_MAX];
    sb_label qlabels[3][SB_LABELS_MAX];
    size_t n;
} key_out;

static void out_add(key_out *o, const agg_entry *e, const char *base,
                    const char *suffix, double v, int64_t now)
{
    join(o->names[o->n], OUT_NAME_MAX, base, suffix);
    o->s[o->n] = (sb_sample){.name = o->names[o->n],
                             .labels = e->tags,
                             .nlabels = e->ntags,
                             .value = v,
                             .time_ns = now};
    o->n++;
}

static void out_quantiles(key_out *o, agg_entry *e, const char *base,
                          double scale, int64_t now)
{
    static const unsigned permille[3] = {500, 900, 990};
    static const char *const text[3] = {"0.5", "0.9", "0.99"};

    if (e->nsamples == 0)
        return;
    qsort(e->samples, e->nsamples, sizeof *e->samples, cmp_double);
    for (size_t q = 0; q < 3; q++) {
        sb_label *lb = o->qlabels[q];

        memcpy(lb, e->tags, e->ntags * sizeof *lb);
        lb[e->ntags] = (sb_label){"quantile", text[q]};
        out_add(o, e, base, "",
                quantile(e->samples, e->nsamples, permille[q]) * scale, now);
        o->s[o->n - 1].labels = lb;
        o->s[o->n - 1].nlabels = e->ntags + 1;
    }
}

/* Timers: milliseconds in, seconds out, under <name>_seconds. */
static void out_timer(key_out *o, agg_entry *e, int64_t now)
{
    bool ms = e->type == SB_STATSD_TIMER;
    double scale = ms ? 1.0 / 1000 : 1;
    char base[OUT_NAME_MAX];

    join(base, sizeof base, e->name,
         ms && !ends_with(e->name, "_seconds") ? "_seconds" : "");
    out_add(o, e, base, "_count", e->count, now);
    out_add(o, e, base, "_sum", ms ? e->sum / 1000 : e->sum, now);
    out_add(o, e, base, "_min", ms ? e->min / 1000 : e->min, now);
    out_add(o, e, base, "_max", ms ? e->max / 1000 : e->max, now);
    out_add(o, e, base, "_mean",
            ms ? e->vsum / (double)e->n / 1000 : e->vsum / (double)e->n, now);
    out_quantiles(o, e, base, scale, now);
}

/* Fills o with what e writes now; false when e writes nothing. */
static bool entry_output(key_out *o, agg_entry *e, int64_t now)
{
    o->n = 0;
    switch (e->type) {
    case SB_STATSD_COUNTER:
        out_add(o, e, e->name, ends_with(e->name, "_total") ? "" : "_total",
                e->value, now);
        break;
    case SB_STATSD_GAUGE:
        out_add(o, e, e->name, "", e->value, now);
        break;
    case SB_STATSD_TIMER:
    case SB_STATSD_HISTOGRAM:
        if (e->n > 0)
            out_timer(o, e, now);
        break;
    case SB_STATSD_SET:
        if (e->updated)
            out_add(o, e, e->name, "_unique", (double)e->nmembers, now);
        break;
    default:
        break;
    }
    return o->n > 0;
}

/* Whether e leaves the table at this flush: timers and sets as soon as
 * an interval passes without an update, counters and gauges after
 * idle_flushes of them. */
static bool entry_expired(const sb_statsd_agg *agg, agg_entry *e)
{
    bool persistent =
        e->type == SB_STATSD_COUNTER || e->type == SB_STATSD_GAUGE;

    if (e->updated)
        return false;
    return !persistent || ++e->idle > agg->lim.idle_flushes;
}

/* Walks one bucket: expires, writes and resets entries. Called with mu
 * held. Returns the first store error. */
static int flush_bucket(sb_statsd_agg *agg, agg_entry **slot, sb_store *store,
                        int64_t now, key_out *o)
{
    int first = 0;

    while (*slot != NULL) {
        agg_entry *e = *slot;
        int rc;

        if (entry_expired(agg, e)) {
            *slot = e->next;
            agg->values -= e->scap + e->mcap;
            entry_free(e);
            agg->nkeys--;
            continue;
        }
        if (entry_output(o, e, now)) {
            rc = sb_store_write_batch(store, o->s, o->n, NULL);
            if (rc < 0) {
                atomic_fetch_add(&agg->write_errors, 1);
                first = first ? first : rc;
            }
        }
        entry_reset_interval(agg, e);
        e->updated = false;
        slot = &e->next;
    }
    return first;
}

static int write_self(sb_statsd_agg *agg, sb_store *store, int64_t now)
{
    static const sb_label tl[SB_STATSD_NTRANS] = {{"transport", "udp"},
                                                  {"transport", "tcp"}};
    static const sb_label kl = {"reason", "kernel"};
    static const sb_label ll[2] = {{"reason", "key_limit"},
                                   {"reason", "set_limit"}};
    sb_statsd_stats st;
    sb_sample s[12];
    size_t n = 0;

    sb__statsd_agg_stats(agg, &st);
#define ADD(nm, lb, nl, v)                                                     \
    s[n++] = (sb_sample){.name = (nm),                                         \
                         .labels = (lb),                                       \
                         .nlabels = (nl),                                      \
                         .value = (double)(v),                                 \
                         .time_ns = now}
    ADD("scoreboard_statsd_packets_received_total", NULL, 0, st.packets);
    for (int t = 0; t < SB_STATSD_NTRANS; t++) {
        ADD("scoreboard_statsd_lines_total", &tl[t], 1, st.lines[t]);
        ADD("scoreboard_statsd_malformed_lines_total", &tl[t], 1,
            st.malformed[t]);
    }
    ADD("scoreboard_statsd_dropped_packets_total", &kl, 1,
        st.dropped[SB_STATSD_DROP_KERNEL]);
    ADD("scoreboard_statsd_dropped_lines_total", &ll[0], 1,
        st.dropped[SB_STATSD_DROP_KEY_LIMIT]);
    ADD("scoreboard_statsd_dropped_lines_total", &ll[1], 1,
        st.dropped[SB_STATSD_DROP_SET_LIMIT]);
    ADD("scoreboard_statsd_rejected_connections_total", NULL, 0,
        st.dropped[SB_STATSD_DROP_CONN_LIMIT]);
    ADD("scoreboard_statsd_write_errors_total", NULL, 0, st.write_errors);
    ADD("scoreboard_statsd_keys", NULL, 0, st.keys);
    ADD("scoreboard_statsd_tcp_connections", NULL, 0,
        atomic_load(&agg->connections));
#undef ADD
    return sb_store_write_batch(store, s, n, NULL);
}

int sb__statsd_agg_flush(sb_statsd_agg *agg, sb_store *store, int64_t now_ns)
{
    key_out *o = malloc(sizeof *o);
    int first = 0, rc;

    if (o == NULL)
        return SB_ENOMEM;
    pthread_mutex_lock(&agg->mu);
    for (size_t b = 0; b < NBUCKETS; b++) {
        if (agg->buckets[b] == NULL)
            continue;
        rc = flush_bucket(agg, &agg->buckets[b], store, now_ns, o);
        first = first ? first : rc;
    }
    pthread_mutex_unlock(&agg->mu);
    free(o);
    rc = write_self(agg, store, now_ns);
    return first ? first : rc;
}

static int collect(void *state, sb_store *store, int64_t now_ns)
{
    return sb__statsd_agg_flush(state, store, now_ns);
}

int sb__collector_statsd(sb_statsd_agg *agg, sb_collector *out)
{
    if (agg == NULL || out == NULL)
        return SB_EINVAL;
    *out = (sb_collector){
        .name = "statsd", .state = agg, .collect = collect, .destroy = NULL};
    return 0;
}
