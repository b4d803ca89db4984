/*
 * collector.h - the collector interface and the thread that drives it.
 *
 * A collector is a small object that, when ticked, samples something
 * (the process, the machine, the HTTP server's request counters) and
 * writes points into the store with the tick's timestamp. Adding a
 * collector means writing one file that fills an sb_collector.
 *
 * The runner owns one thread. It ticks every collector once at start and
 * then every interval, measured on CLOCK_MONOTONIC; after each tick it
 * sweeps the store (retention). sb__runner_stop() wakes the thread at
 * once through a condition variable (no waiting for the sleep to end),
 * joins it and destroys every collector.
 */
#ifndef SB_COLLECT_COLLECTOR_H
#define SB_COLLECT_COLLECTOR_H

#include "common/log.h"
#include "scoreboard.h"

typedef struct sb_collector {
    const char *name; /* for log lines: "process", "system", ... */
    void *state;
    /* Samples and writes points stamped now_ns. Returns 0 or SB_E*; a
     * failure is logged by the runner and the next tick tries again. */
    int (*collect)(void *state, sb_store *store, int64_t now_ns);
    void (*destroy)(void *state); /* may be NULL */
} sb_collector;

/* Collectors defined in this folder. Each fills *out and returns 0 or an
 * SB_E* code. */
int sb__collector_process(sb_collector *out);
int sb__collector_system(sb_collector *out);
int sb__collector_store(sb_collector *out); /* scoreboard_store_* */

/* The process and system collectors reading files below proc_root (which
 * holds "stat", "meminfo", "loadavg" and "self/...") instead of "/proc";
 * for tests with fixture files. proc_root is copied. */
int sb__collector_process_at(const char *proc_root, sb_collector *out);
int sb__collector_system_at(const char *proc_root, sb_collector *out);

/*
 * The points one collector gathers during a tick, written with a single
 * batch. A collector reading several sources keeps going after one fails
 * and remembers the first error in err, so one unreadable file does not
 * hide the other series.
 */
#define SB_TICK_POINTS_MAX 16

typedef struct sb_tick_points {
    sb_sample s[SB_TICK_POINTS_MAX];
    size_t n;
    int err;
} sb_tick_points;

static inline void sb__tick_add(sb_tick_points *tp, const char *name, double v,
                                int64_t now)
{
    if (tp->n < SB_TICK_POINTS_MAX)
        tp->s[tp->n++] = (sb_sample){.name = name, .value = v, .time_ns = now};
}

static inline void sb__tick_note(sb_tick_points *tp, int rc)
{
    if (rc < 0 && tp->err == 0)
        tp->err = rc;
}

/*
 * Writes a collector's points as one batch. When the store is full
 * (--max-series) and the batch would add a series, the points are
 * written one by one instead, so the series that exist keep being
 * updated and only the new ones are refused. Returns the batch's error.
 */
static inline int sb__collect_write(sb_store *store, const sb_sample *s,
                                    size_t n)
{
    int rc = sb_store_write_batch(store, s, n, NULL);

    if (rc == SB_ELIMIT) {
        for (size_t i = 0; i < n; i++)
            (void)sb_store_write(store, &s[i]);
    }
    return rc;
}

/* Writes the gathered points (sb__collect_write). Returns the write's
 * error, or else the first error a source noted (0 when all went well). */
static inline int sb__tick_write(const sb_tick_points *tp, sb_store *store)
{
    int rc;

    if (tp->n == 0)
        return tp->err;
    rc = sb__collect_write(store, tp->s, tp->n);
    return rc < 0 ? rc : tp->err;
}

typedef struct sb_runner sb_runner;

/* Starts the thread. Takes ownership of the n collectors (also on
 * failure, when they are destroyed). */
int sb__runner_start(sb_store *store, sb_collector *cols, size_t n,
                     int64_t interval_ns, const sb_logger *log,
                     sb_runner **out);
/* Wakes, joins and frees; destroys the collectors. Accepts NULL. */
void sb__runner_stop(sb_runner *r);

#endif
