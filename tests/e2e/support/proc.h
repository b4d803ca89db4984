/*
 * proc.h - child processes for the end-to-end tests.
 *
 * e2e_proc_start() runs a binary as a child with stdin on /dev/null and
 * its stdout and stderr captured through pipes. One reader thread per
 * child drains both pipes into capped in-memory buffers, so the child can
 * never block on a full pipe and a test can wait for, and assert on, its
 * log lines.
 *
 * Every child is registered in a process-wide list. e2e_proc_free_all()
 * (meant as a cmocka teardown) and an atexit handler kill and reap
 * whatever is left, and each child also gets PR_SET_PDEATHSIG, so no
 * server outlives a test binary even when an assertion longjmps out of a
 * test or the binary crashes. Every wait takes a deadline.
 */
#ifndef E2E_SUPPORT_PROC_H
#define E2E_SUPPORT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct e2e_proc e2e_proc;

/* Slowness factor for deadlines: 1 normally, more when this binary (and
 * so the server built with it) runs under a sanitizer. */
int e2e_slowdown(void);

/* The path in environment variable var (e.g. "SB_BINARY"), or NULL. */
const char *e2e_env_path(const char *var);

/*
 * Starts path with argv (argv[0] included, NULL-terminated). env_extra
 * (NULL-terminated "KEY=VALUE" strings, may be NULL) is added to this
 * process's environment minus every SCOREBOARD_* variable, so the
 * caller's shell cannot change a test. Returns NULL on failure.
 */
e2e_proc *e2e_proc_start(const char *path, const char *const *argv,
                         const char *const *env_extra);

/* Starts `$SB_BINARY serve --listen 127.0.0.1:0 ARGS...` and waits for
 * its port. extra is NULL-terminated (may be NULL). NULL on failure, with
 * the child's stderr printed. */
e2e_proc *e2e_server_start(const char *const *extra);

pid_t e2e_proc_pid(const e2e_proc *p);

/* The port found by the last successful e2e_proc_wait_port(), or 0. */
uint16_t e2e_proc_port(const e2e_proc *p);

/* Waits up to timeout_ms for the "listening address=HOST:PORT" line.
 * Returns the port, or 0 on timeout, early exit or a malformed line. */
uint16_t e2e_proc_wait_port(e2e_proc *p, int timeout_ms);

/* Waits up to timeout_ms until the captured stderr (or stdout) contains
 * needle. Returns true when it does. */
bool e2e_proc_wait_stderr(e2e_proc *p, const char *needle, int timeout_ms);
bool e2e_proc_wait_stdout(e2e_proc *p, const char *needle, int timeout_ms);

/* Copies of what was captured so far, NUL-terminated; free() them. */
char *e2e_proc_stderr(e2e_proc *p);
char *e2e_proc_stdout(e2e_proc *p);

/* Sends sig. Returns 0 or -1 (child already reaped). */
int e2e_proc_signal(e2e_proc *p, int sig);

/*
 * Waits up to timeout_ms for the child to exit. On exit returns 0,
 * *status gets the raw wait status (use WIFEXITED etc.) and *elapsed_ms
 * (may be NULL) the time since the last e2e_proc_signal() or, without
 * one, since this call. Returns -1 on timeout (the child keeps running).
 */
int e2e_proc_wait_exit(e2e_proc *p, int timeout_ms, int *status,
                       long *elapsed_ms);

/* Sends sig and waits like e2e_proc_wait_exit(). */
int e2e_proc_stop(e2e_proc *p, int sig, int timeout_ms, int *status,
                  long *elapsed_ms);

/* The end of a test group's server: SIGTERM, at most 5 s (times the
 * slowdown) for it to exit, then every process is freed and *p is NULL.
 * True when it exited 0 (a sanitizer report makes it exit otherwise);
 * false, with a line on stderr, when not. *p may be NULL (a setup that
 * failed): then it only frees. */
bool e2e_proc_stop_clean(e2e_proc **p);

/* Kills the child (SIGKILL) if it still runs, reaps it, joins the reader
 * thread and frees everything. Accepts NULL. */
void e2e_proc_free(e2e_proc *p);

/* e2e_proc_free() on every live child. Returns 0 so it can serve as a
 * cmocka setup or teardown. */
int e2e_proc_free_all(void **state);

/* Runs a child to completion (at most timeout_ms, then SIGKILL): returns
 * 0 and fills *status, *out and *err (malloc'd; free them), or -1. */
int e2e_run(const char *path, const char *const *argv, int timeout_ms,
            int *status, char **out, char **err);

/* Monotonic milliseconds. */
int64_t e2e_now_ms(void);

/* Sleeps ms milliseconds (for polling loops). */
void e2e_sleep_ms(int ms);

#endif
