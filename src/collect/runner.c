/*
 * runner.c - the collector thread.
 *
 * One thread ticks every collector, sweeps the store, then sleeps on a
 * condition variable until the next deadline. Deadlines are absolute
 * times on CLOCK_MONOTONIC (start + k * interval), so the time a tick
 * takes does not make the schedule drift; when a tick overruns whole
 * intervals the missed ticks are skipped rather than run back to back.
 *
 * Stopping sets `stop` under the mutex and signals the condition, so the
 * thread wakes at once however long the interval is. `stop` is only read
 * and written under the mutex; everything else the thread touches is
 * owned by it until it is joined.
 *
 * A failing collector is logged when its error changes (first failure,
 * a different error, recovery), not on every tick, so a persistent
 * failure such as a full store does not flood the log.
 */
#include "collect/collector.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000LL

struct sb_runner {
    sb_store *store;
    sb_collector *cols;
    int *last_err; /* per collector: the error of its previous tick */
    size_t n;
    int64_t interval_ns;
    sb_logger log;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop; /* guarded by mu */
    pthread_t thread;
};

static void destroy_collectors(sb_collector *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cols[i].destroy != NULL)
            cols[i].destroy(cols[i].state);
}

static int64_t mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static struct timespec to_timespec(int64_t ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ns / NS_PER_SEC);
    ts.tv_nsec = (long)(ns % NS_PER_SEC);
    return ts;
}

static void report(sb_runner *r, size_t i, int rc)
{
    const char *name = r->cols[i].name ? r->cols[i].name : "unnamed";
    char q[80];

    if (rc == r->last_err[i])
        return;
    if (rc < 0)
        SB_LOG(&r->log, SB_LOG_WARN, "collector_failed collector=%s error=%s",
               name, sb__log_quote(sb_strerror(rc), q, sizeof q));
    else
        SB_LOG(&r->log, SB_LOG_INFO, "collector_recovered collector=%s", name);
    r->last_err[i] = rc;
}

static void tick(sb_runner *r)
{
    int64_t now = sb_time_now();

    for (size_t i = 0; i < r->n; i++) {
        int rc = r->cols[i].collect(r->cols[i].state, r->store, now);
        report(r, i, rc < 0 ? rc : 0);
    }
    sb_store_sweep(r->store, now);
}

/* The next deadline after `now` on the grid deadline + k * interval;
 * saturates instead of overflowing for absurdly long intervals. */
static int64_t next_deadline(int64_t deadline, int64_t interval, int64_t now)
{
    if (deadline > INT64_MAX - interval)
        return INT64_MAX;
    deadline += interval;
    if (deadline <= now)
        deadline += ((now - deadline) / interval + 1) * interval;
    return deadline;
}

static void *run(void *arg)
{
    sb_runner *r = arg;
    int64_t deadline = mono_now();
    struct timespec ts;

    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        pthread_mutex_unlock(&r->mu);
        tick(r);
        deadline = next_deadline(deadline, r->interval_ns, mono_now());
        ts = to_timespec(deadline);

        pthread_mutex_lock(&r->mu);
        /* Loop over spurious wake-ups until the deadline or a stop. */
        while (!r->stop) {
            if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int init_sync(sb_runner *r)
{
    pthread_condattr_t attr;
    int rc = SB_ESYS;

    if (pthread_condattr_init(&attr) != 0)
        return SB_ESYS;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
        goto out_attr;
    if (pthread_cond_init(&r->cv, &attr) != 0)
        goto out_attr;
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        pthread_cond_destroy(&r->cv);
        goto out_attr;
    }
    rc = 0;

out_attr:
    pthread_condattr_destroy(&attr);
    return rc;
}

int sb__runner_start(sb_store *store, sb_collector *cols, size_t n,
                     int64_t interval_ns, const sb_logger *log, sb_runner **out)
{
    sb_runner *r = NULL;
    int rc = SB_EINVAL;

    if (store == NULL || (cols == NULL && n > 0) || interval_ns <= 0 ||
        out == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (cols[i].collect == NULL)
            goto fail;

    rc = SB_ENOMEM;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        goto fail;
    r->cols = calloc(n ? n : 1, sizeof *r->cols);
    r->last_err = calloc(n ? n : 1, sizeof *r->last_err);
    if (r->cols == NULL || r->last_err == NULL)
        goto fail;
    if (n > 0)
        memcpy(r->cols, cols, n * sizeof *cols);
    r->n = n;
    r->store = store;
    r->interval_ns = interval_ns;
    if (log != NULL)
        r->log = *log;

    rc = init_sync(r);
    if (rc < 0)
        goto fail;
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        rc = SB_ESYS;
        goto fail;
    }
    *out = r;
    return 0;

fail:
    /* Ownership of the collectors passed to us even on failure. */
    if (cols != NULL)
        destroy_collectors(cols, n);
    if (r != NULL) {
        free(r->cols);
        free(r->last_err);
        free(r);
    }
    return rc;
}

void sb__runner_stop(sb_runner *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);

    destroy_collectors(r->cols, r->n);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->cols);
    free(r->last_err);
    free(r);
}
