/*
 * scrape.c - the Prometheus scraper: one thread per target (scrape.h).
 *
 * Ingest parses the body twice: the first pass validates everything and
 * counts samples, labels and string bytes, so the second can copy the
 * parser's short-lived strings into buffers allocated once at their exact
 * size (no pointer into a growing buffer). The batch then goes to the
 * store in one atomic write.
 *
 * Threads share one mutex and condition variable, used only to sleep
 * between scrapes; the stop flag is atomic so the libcurl progress
 * callback can read it during a transfer without any lock.
 */
#include "collect/scrape.h"

#include "common/buf.h"
#include "ingest/prom_parse.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS_PER_SEC         1000000000LL
#define CONNECT_TIMEOUT_MS 5000L
#define LOG_WINDOW_NS      (60 * NS_PER_SEC)
#define DEFAULT_JOB        "scrape"
#define SCRAPE_ACCEPT      "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1"
#define SELF_SERIES        4
/* Samples of one scrape the store may refuse for their time (older than
 * the retention or the out-of-order window, too far ahead) and that are
 * skipped, one write attempt each, before the whole scrape fails. */
#define SKIP_MAX           64
#define EXTRA_LABELS       2 /* job and instance */
#define STOP_POLL_MS       50
#define CHANGES_PER_MINUTE 10 /* logged changes of a target's state */

/* ----------------------------------------------------------- URL check */

int sb__scrape_url_check(const char *url, char *instance, size_t n,
                         const char **reason)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
    int rc = SB_EINVAL;

    *reason = "out of memory";
    if (u == NULL)
        return SB_ENOMEM;
    *reason = "not a valid URL";
    if (url == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    *reason = "only http:// and https:// URLs can be scraped";
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        goto out;
    *reason = "the URL has no host";
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        host[0] == '\0')
        goto out;
    *reason = "user names and passwords in the URL are not supported";
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        goto out;
    *reason = "the URL has no port";
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    *reason = "the host is too long";
    if ((size_t)snprintf(instance, n, "%s:%s", host, port) >= n)
        goto out;
    *reason = NULL;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

/* -------------------------------------------------------------- ingest */

typedef struct batch {
    sb_sample *s;
    size_t n;
    sb_label *labels;
    size_t nlabels;
    char *text;
    size_t ntext;
} batch;

static void batch_free(batch *b)
{
    free(b->s);
    free(b->labels);
    free(b->text);
    memset(b, 0, sizeof *b);
}

static char *copy_str(batch *b, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = b->text + b->ntext;

    memcpy(d, s, n);
    b->ntext += n;
    return d;
}

#define EXPORTED     "exported_"
#define EXPORTED_LEN (sizeof EXPORTED - 1)

static bool is_target_key(const char *key)
{
    return strcmp(key, "job") == 0 || strcmp(key, "instance") == 0;
}

static bool has_key(const sb_prom_item *it, const char *key)
{
    for (size_t i = 0; i < it->nlabels; i++) {
        if (strcmp(it->labels[i].key, key) == 0)
            return true;
    }
    return false;
}

/*
 * Copies the key under which a sample's own job or instance label is
 * kept: "exported_" prepended as often as needed to differ from every
 * label of the sample, as Prometheus does (so scraping a target that
 * itself exposes scraped series keeps every label). At most nlabels + 1
 * prefixes are needed.
 */
static const char *exported_key(batch *b, const sb_prom_item *it,
                                const char *key)
{
    char buf[EXPORTED_LEN * (SB_LABELS_MAX + 1) + SB_LABEL_KEY_MAX + 1];
    size_t n = strlen(key), k = 0;

    if (n > SB_LABEL_KEY_MAX)
        n = SB_LABEL_KEY_MAX;
    do {
        memcpy(buf + k * EXPORTED_LEN, EXPORTED, EXPORTED_LEN);
        k++;
        memcpy(buf + k * EXPORTED_LEN, key, n);
        buf[k * EXPORTED_LEN + n] = '\0';
    } while (has_key(it, buf) && k <= SB_LABELS_MAX);
    return copy_str(b, buf);
}

/* Copies one sample with its labels, job and instance. */
static int add_sample(batch *b, const sb_prom_item *it, const sb_label *extra,
                      int64_t now_ns, char *err, size_t errn)
{
    sb_sample *s = &b->s[b->n];
    sb_label *l = &b->labels[b->nlabels];

    if (it->has_time &&
        (it->time_ms > INT64_MAX / 1000000 || it->time_ms < 0)) {
        snprintf(err, errn, "sample %zu: timestamp out of range", b->n + 1);
        return SB_ERANGE;
    }
    s->name = copy_str(b, it->name);
    s->value = it->value;
    s->time_ns = it->has_time ? it->time_ms * 1000000 : now_ns;
    s->labels = l;
    for (size_t i = 0; i < it->nlabels; i++) {
        const char *k = it->labels[i].key;

        l[i].key = is_target_key(k) ? exported_key(b, it, k) : copy_str(b, k);
        l[i].value = copy_str(b, it->labels[i].value);
    }
    l[it->nlabels] = extra[0];
    l[it->nlabels + 1] = extra[1];
    s->nlabels = it->nlabels + EXTRA_LABELS;
    b->nlabels += s->nlabels;
    b->n++;
    return 0;
}

/* Pass one: validates and sizes the batch. */
static int measure(const char *body, size_t len, const sb_prom_limits *lim,
                   batch *b, char *err, size_t errn)
{
    size_t ns = 0, nl = 0, nt = 0;
    sb_prom_parser p;
    sb_prom_item it;
    int rc;

    rc = sb__prom_parser_init(&p, body, len, lim);
    while (rc == 0 && (rc = sb__prom_next(&p, &it)) > 0) {
        if (it.kind != SB_PROM_SAMPLE) {
            rc = 0;
            continue;
        }
        ns++;
        nl += it.nlabels + EXTRA_LABELS;
        nt += strlen(it.name) + 1;
        for (size_t i = 0; i < it.nlabels; i++)
            nt += strlen(it.labels[i].key) + strlen(it.labels[i].value) + 2 +
                  (is_target_key(it.labels[i].key)
                       ? EXPORTED_LEN * (it.nlabels + 1)
                       : 0);
        rc = 0;
    }
    if (rc < 0)
        snprintf(err, errn, "%s", p.err[0] ? p.err : sb_strerror(rc));
    sb__prom_parser_free(&p);
    if (rc < 0)
        return rc;
    b->s = calloc(ns + SELF_SERIES, sizeof *b->s);
    b->labels = calloc(nl + EXTRA_LABELS, sizeof *b->labels);
    b->text = malloc(nt + 1);
    if (b->s == NULL || b->labels == NULL || b->text == NULL)
        return SB_ENOMEM;
    return 0;
}

/* Pass two: copies the samples (the input was validated by pass one). */
static int fill(const char *body, size_t len, const sb_prom_limits *lim,
                const sb_label *extra, int64_t now_ns, batch *b, char *err,
                size_t errn)
{
    sb_prom_parser p;
    sb_prom_item it;
    int rc;

    rc = sb__prom_parser_init(&p, body, len, lim);
    while (rc == 0 && (rc = sb__prom_next(&p, &it)) > 0) {
        rc = it.kind == SB_PROM_SAMPLE
                 ? add_sample(b, &it, extra, now_ns, err, errn)
                 : 0;
    }
    sb__prom_parser_free(&p);
    return rc;
}

static void add_self(batch *b, const sb_label *extra, size_t nsamples,
                     size_t nskipped, double duration_s, int64_t now_ns)
{
    static const char *const names[SELF_SERIES] = {
        "up", "scrape_duration_seconds", "scrape_samples_scraped",
        "scrape_samples_skipped"};
    double values[SELF_SERIES] = {1, duration_s, (double)nsamples,
                                  (double)nskipped};

    for (size_t i = 0; i < SELF_SERIES; i++)
        b->s[b->n++] =
            (sb_sample){names[i], extra, EXTRA_LABELS, values[i], now_ns};
}

int sb__scrape_ingest(sb_store *store, const char *body, size_t len,
                      const char *job, const char *instance, int64_t now_ns,
                      double duration_s, size_t *nsamples, char *err,
                      size_t errn)
{
    const sb_prom_limits lim = {0, SB_LABELS_MAX - EXTRA_LABELS,
                                SB_SCRAPE_SAMPLES_MAX};
    const sb_label extra[EXTRA_LABELS] = {{"job", job}, {"instance", instance}};
    sb_write_error werr = {0};
    batch b = {0};
    size_t kept, skipped = 0;
    int rc;

    *nsamples = 0;
    rc = measure(body, len, &lim, &b, err, errn);
    if (rc == 0)
        rc = fill(body, len, &lim, extra, now_ns, &b, err, errn);
    if (rc == 0) {
        *nsamples = kept = b.n;
        for (;;) {
            b.n = kept;
            add_self(&b, extra, *nsamples, skipped, duration_s, now_ns);
            rc = sb_store_write_batch(store, b.s, b.n, &werr);
            /* A sample refused for its own timestamp is skipped, as
             * Prometheus drops such a sample and keeps the rest. */
            if (rc != SB_ERANGE || werr.index >= kept || skipped == SKIP_MAX)
                break;
            memmove(&b.s[werr.index], &b.s[werr.index + 1],
                    (kept - werr.index - 1) * sizeof *b.s);
            kept--;
            skipped++;
        }
        if (rc < 0)
            snprintf(err, errn, "sample %zu refused: %s%s", werr.index + 1,
                     werr.reason ? werr.reason : sb_strerror(rc),
                     skipped > 0 ? " (counted after the samples skipped for "
                                   "their time)"
                                 : "");
    }
    if (rc == SB_ENOMEM)
        snprintf(err, errn, "out of memory");
    batch_free(&b);
    return rc;
}

/* -------------------------------------------------------------- threads */

typedef struct target {
    struct sb_scraper *owner;
    char *url;
    char *job;
    char instance[SB_SCRAPE_INSTANCE_MAX];
    int64_t interval_ns;
    pthread_t thread;
    bool started;
    int last_up;          /* -1 before the first scrape */
    sb_ratelimit rl;      /* failure lines: one a minute */
    sb_ratelimit changes; /* lines on a change of state: 10 a minute */
} target;

struct sb_scraper {
    sb_store *store;
    sb_logger log;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; signalled on stop */
    atomic_bool stop;
    target *t;
    size_t n;
    bool curl_live;
};

static int64_t mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

typedef struct body_sink {
    sb_buf buf;
    bool too_large;
} body_sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    body_sink *sink = ud;
    size_t n = size * nmemb;

    if (sb__buf_append(&sink->buf, p, n) < 0) {
        sink->too_large = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return atomic_load(&((struct sb_scraper *)ud)->stop) ? 1 : 0;
}

static void set_options(CURL *h, const target *t, body_sink *sink,
                        struct curl_slist *hdrs)
{
    int64_t timeout = t->interval_ns < SB_SCRAPE_TIMEOUT_MAX
                          ? t->interval_ns
                          : SB_SCRAPE_TIMEOUT_MAX;
    long timeout_ms = (long)(timeout / 1000000);

    curl_easy_setopt(h, CURLOPT_URL, t->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms
                                                     : CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "scoreboard/" SB_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t->owner);
}

/*
 * Runs the transfer of h, checking the stop flag at least every
 * STOP_POLL_MS: curl_easy_perform() waits up to a second between two
 * calls of the progress callback while a target sends nothing, which
 * alone could hold a shutdown that long.
 */
static CURLcode perform(CURL *h, const struct sb_scraper *s)
{
    CURLM *m = curl_multi_init();
    CURLcode cc = CURLE_OUT_OF_MEMORY;
    int running = 1;

    if (m == NULL || curl_multi_add_handle(m, h) != CURLM_OK) {
        curl_multi_cleanup(m);
        return cc;
    }
    while (running) {
        CURLMcode mc = curl_multi_perform(m, &running);

        if (mc == CURLM_OK && running)
            mc = curl_multi_poll(m, NULL, 0, STOP_POLL_MS, NULL);
        if (mc != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
        if (running && atomic_load(&s->stop)) {
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    if (!running) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE)
                cc = msg->data.result;
        }
    }
    curl_multi_remove_handle(m, h);
    curl_multi_cleanup(m);
    return cc;
}

/* GETs the target into sink. 0, or <0 with err set. */
static int fetch(const target *t, body_sink *sink, char *err, size_t errn)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, SCRAPE_ACCEPT);
    CURL *h = curl_easy_init();
    long status = 0;
    CURLcode cc;
    int rc = -1;

    if (h == NULL || hdrs == NULL) {
        snprintf(err, errn, "out of memory");
        goto out;
    }
    set_options(h, t, sink, hdrs);
    cc = perform(h, t->owner);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (sink->too_large)
        snprintf(err, errn, "body larger than %u bytes", SB_SCRAPE_BODY_MAX);
    else if (cc != CURLE_OK)
        snprintf(err, errn, "%s", curl_easy_strerror(cc));
    else if (status != 200)
        snprintf(err, errn, "HTTP status %ld", status);
    else
        rc = 0;
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

static void write_down(const target *t, int64_t now_ns)
{
    const sb_label l[EXTRA_LABELS] = {{"job", t->job},
                                      {"instance", t->instance}};
    sb_sample s = {"up", l, EXTRA_LABELS, 0, now_ns};

    (void)sb_store_write(t->owner->store, &s);
}

static void report(target *t, bool up, size_t nsamples, const char *why)
{
    const sb_logger *lg = &t->owner->log;
    uint64_t suppressed = 0, flaps = 0;
    char u[400], w[300];
    bool change = t->last_up != (up ? 1 : 0), failure_allowed;
    int64_t now = sb_time_now();

    /* A change of state is logged, at most CHANGES_PER_MINUTE of them so
     * a flapping target cannot flood the log; a failure is logged at
     * most once a minute besides (a change to failed uses that up). */
    change = change && sb__ratelimit_allow(&t->changes, now, &flaps);
    sb__log_quote(t->url, u, sizeof u);
    if (up && change)
        SB_LOG(lg, SB_LOG_INFO, "scrape_up url=%s samples=%zu", u, nsamples);
    failure_allowed = !up && sb__ratelimit_allow(&t->rl, now, &suppressed);
    if (!up && (failure_allowed || change))
        SB_LOG(lg, SB_LOG_WARN,
               "scrape_failed url=%s reason=%s suppressed=%llu", u,
               sb__log_quote(why, w, sizeof w), (unsigned long long)suppressed);
    t->last_up = up ? 1 : 0;
}

static void scrape_once(target *t)
{
    int64_t now = sb_time_now(), start = mono_now();
    body_sink sink;
    size_t nsamples = 0;
    char err[256] = "";
    int rc;

    sb__buf_init(&sink.buf, SB_SCRAPE_BODY_MAX);
    sink.too_large = false;
    rc = fetch(t, &sink, err, sizeof err);
    if (rc == 0)
        rc = sb__scrape_ingest(
            t->owner->store, sink.buf.data ? sink.buf.data : "", sink.buf.len,
            t->job, t->instance, now, (double)(mono_now() - start) / NS_PER_SEC,
            &nsamples, err, sizeof err);
    sb__buf_free(&sink.buf);
    if (atomic_load(&t->owner->stop))
        return; /* an aborted transfer is no failure of the target */
    if (rc < 0)
        write_down(t, now);
    report(t, rc == 0, nsamples, err);
}

static void *target_main(void *arg)
{
    target *t = arg;
    struct sb_scraper *s = t->owner;
    int64_t next = mono_now();

    while (!atomic_load(&s->stop)) {
        struct timespec dl;

        scrape_once(t);
        next += t->interval_ns;
        if (next < mono_now())
            next = mono_now(); /* fell behind: skip the missed scrapes */
        dl.tv_sec = (time_t)(next / NS_PER_SEC);
        dl.tv_nsec = (long)(next % NS_PER_SEC);
        pthread_mutex_lock(&s->mu);
        while (!atomic_load(&s->stop) &&
               pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0)
            ;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static int init_target(target *t, struct sb_scraper *s,
                       const sb_scrape_target *src)
{
    const char *reason = NULL;
    char u[400], r[120];
    int rc;

    t->owner = s;
    t->last_up = -1;
    sb__ratelimit_init(&t->rl, 1, LOG_WINDOW_NS);
    sb__ratelimit_init(&t->changes, CHANGES_PER_MINUTE, LOG_WINDOW_NS);
    rc = sb__scrape_url_check(src->url, t->instance, sizeof t->instance,
                              &reason);
    if (rc == 0 && src->interval_ns != 0 &&
        src->interval_ns < SB_SCRAPE_INTERVAL_MIN) {
        reason = "the interval must be at least 100ms";
        rc = SB_EINVAL;
    }
    if (rc == 0 && src->job != NULL && strlen(src->job) > SB_LABEL_VALUE_MAX) {
        reason = "the job is longer than a label value may be";
        rc = SB_EINVAL;
    }
    if (rc < 0) {
        SB_LOG(&s->log, SB_LOG_ERROR, "scrape_invalid url=%s reason=%s",
               sb__log_quote(src->url ? src->url : "", u, sizeof u),
               sb__log_quote(reason, r, sizeof r));
        return rc;
    }
    t->interval_ns =
        src->interval_ns ? src->interval_ns : SB_SCRAPE_INTERVAL_DEF;
    t->url = strdup(src->url);
    t->job = strdup(src->job && src->job[0] ? src->job : DEFAULT_JOB);
    if (t->url == NULL || t->job == NULL)
        return SB_ENOMEM;
    SB_LOG(&s->log, SB_LOG_INFO,
           "scrape_target url=%s job=%s instance=%s interval_ms=%lld",
           sb__log_quote(t->url, u, sizeof u),
           sb__log_quote(t->job, r, sizeof r), t->instance,
           (long long)(t->interval_ns / 1000000));
    return 0;
}

static int init_sync(struct sb_scraper *s)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_condattr_init(&ca) != 0)
        return SB_ESYS;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return SB_ESYS;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        pthread_cond_destroy(&s->cv);
        return SB_ESYS;
    }
    return 0;
}

int sb__scraper_start(sb_store *store, const sb_scrape_target *targets,
                      size_t n, const sb_logger *log, sb_scraper **out)
{
    struct sb_scraper *s = calloc(1, sizeof *s);
    int rc = 0;

    *out = NULL;
    if (s == NULL)
        return SB_ENOMEM;
    s->store = store;
    s->log = *log;
    atomic_init(&s->stop, false);
    if (init_sync(s) < 0) {
        free(s);
        return SB_ESYS;
    }
    s->curl_live = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    s->t = calloc(n ? n : 1, sizeof *s->t);
    rc = s->t == NULL || !s->curl_live ? SB_ENOMEM : 0;
    for (size_t i = 0; i < n && rc == 0; i++, s->n++)
        rc = init_target(&s->t[i], s, &targets[i]);
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        if (pthread_create(&s->t[i].thread, NULL, target_main, &s->t[i]) != 0)
            rc = SB_ESYS;
        s->t[i].started = rc == 0;
    }
    if (rc < 0) {
        sb__scraper_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sb__scraper_stop(sb_scraper *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i].started)
            pthread_join(s->t[i].thread, NULL);
        free(s->t[i].url);
        free(s->t[i].job);
    }
    free(s->t);
    if (s->curl_live)
        curl_global_cleanup();
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
