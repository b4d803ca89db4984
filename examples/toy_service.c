/*
 * toy_service.c - a small program that embeds libscoreboard.
 *
 * It pretends to be a worker service: it runs fake "jobs" one after the
 * other and, after each job, records two series in a store that an
 * embedded scoreboard server publishes over HTTP:
 *
 *   toy_jobs_total{kind}            jobs finished so far (a counter)
 *   toy_job_duration_seconds{kind}  how long the last job took
 *
 * Usage: toy_service [HOST:PORT]   (or env TOY_LISTEN; 127.0.0.1:8081)
 * Then:  curl 'http://127.0.0.1:8081/metrics?name=toy_jobs_total'
 *
 * Signal handling is the part worth copying: SIGINT and SIGTERM are
 * blocked before any thread starts, so every thread (the server's
 * included) inherits the mask and the signals stay pending until the main
 * loop collects them with sigtimedwait() between jobs. No handler runs
 * asynchronously, and shutdown happens on the main thread in order:
 * stop the server, then destroy the store it borrows.
 */
#include "scoreboard.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOB_KINDS 3

static const char *const job_kinds[JOB_KINDS] = {"resize", "encode",
                                                 "thumbnail"};

/* A tiny xorshift generator: no shared state, unlike rand(). */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* Burns CPU for about ms milliseconds and returns a checksum, so the work
 * cannot be optimised away. Stands in for real work. */
static uint64_t fake_job(int64_t ms, uint64_t *rng)
{
    int64_t end = sb_time_now() + ms * 1000000;
    uint64_t sum = 0;

    while (sb_time_now() < end) {
        for (int i = 0; i < 1000; i++)
            sum += next_random(rng) >> 60;
    }
    return sum;
}

/*
 * Records one finished job. The counter is cumulative (the total so far),
 * as counters are in scoreboard: a reader computes rates from differences.
 * Both samples go in one batch so a reader never sees one without the
 * other.
 */
static int record_job(sb_store *store, const char *kind, uint64_t total,
                      double seconds)
{
    sb_label label = {.key = "kind", .value = kind};
    int64_t now = sb_time_now();
    sb_sample samples[2] = {
        {.name = "toy_jobs_total",
         .labels = &label,
         .nlabels = 1,
         .value = (double)total,
         .time_ns = now},
        {.name = "toy_job_duration_seconds",
         .labels = &label,
         .nlabels = 1,
         .value = seconds,
         .time_ns = now},
    };

    return sb_store_write_batch(store, samples, 2, NULL);
}

/* Runs jobs until SIGINT or SIGTERM is pending. Returns the signal. */
static int work_loop(sb_store *store, const sigset_t *stop_signals)
{
    uint64_t totals[JOB_KINDS] = {0};
    uint64_t rng = (uint64_t)sb_time_now() | 1;
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = 20 * 1000000};

    for (;;) {
        size_t kind = next_random(&rng) % JOB_KINDS;
        int64_t start = sb_time_now();
        int sig, rc;

        (void)fake_job(1 + (int64_t)(next_random(&rng) % 5), &rng);
        totals[kind]++;
        rc = record_job(store, job_kinds[kind], totals[kind],
                        (double)(sb_time_now() - start) / 1e9);
        if (rc != 0)
            fprintf(stderr, "toy_service: write: %s\n", sb_strerror(rc));

        /* The idle time between jobs doubles as the signal check. */
        sig = sigtimedwait(stop_signals, NULL, &pause);
        if (sig > 0)
            return sig;
        if (errno != EAGAIN && errno != EINTR) {
            perror("toy_service: sigtimedwait");
            return SIGTERM;
        }
    }
}

int main(int argc, char **argv)
{
    const char *listen = argc > 1 ? argv[1] : getenv("TOY_LISTEN");
    sb_store *store = NULL;
    sb_server *server = NULL;
    sb_server_options opts;
    sigset_t stop_signals;
    int rc, sig, status = 1;

    /* Block before sb_server_start() creates threads (see the top). */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    rc = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if (rc != 0) {
        fprintf(stderr, "toy_service: pthread_sigmask: %s\n", strerror(rc));
        return 1;
    }

    rc = sb_store_create(NULL, &store);
    if (rc != 0) {
        fprintf(stderr, "toy_service: store: %s\n", sb_strerror(rc));
        goto out;
    }

    sb_server_options_init(&opts);
    opts.listen = listen != NULL ? listen : "127.0.0.1:8081";
    opts.log = sb_log_stderr; /* prints "listening address=..." */
    rc = sb_server_start(store, &opts, &server);
    if (rc != 0) {
        fprintf(stderr, "toy_service: server on %s: %s\n", opts.listen,
                sb_strerror(rc));
        goto out;
    }

    sig = work_loop(store, &stop_signals);
    fprintf(stderr, "toy_service: got %s, stopping\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;

out:
    sb_server_stop(server); /* before the store: the server borrows it */
    sb_store_destroy(store);
    return status;
}
