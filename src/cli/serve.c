/*
 * serve.c - `scoreboard serve`: run the server until SIGINT or SIGTERM.
 *
 * Signals: SIGINT and SIGTERM are blocked with pthread_sigmask before any
 * thread exists, so every thread the library starts inherits the mask and
 * none of them can take the signal; the main thread then waits for one
 * with sigwait() and shuts down in order (server, which joins the
 * collector thread, then the store). No signal handler runs, so nothing
 * async-signal-unsafe can happen. SIGPIPE is ignored: a client hanging up
 * must not kill the process.
 */
#include "cli/cli.h"

#include "common/log.h"
#include "common/timeparse.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>

/* The host part of HOST:PORT (up to the last ':'), copied into out. */
static void listen_host(const char *listen, char *out, size_t n)
{
    const char *colon = strrchr(listen, ':');
    size_t len = colon != NULL ? (size_t)(colon - listen) : strlen(listen);

    snprintf(out, n, "%.*s", (int)(len < 512 ? len : 512), listen);
}

static void log_started(const sb_logger *lg, const sb_cli_serve *o,
                        uint16_t port)
{
    char host[520];
    char ret[64];
    char ivl[64];

    listen_host(o->listen, host, sizeof host);
    sb__fmt_duration(o->retention_ns, ret, sizeof ret);
    sb__fmt_duration(o->interval_ns, ivl, sizeof ivl);
    SB_LOG(lg, SB_LOG_INFO,
           "started version=%s address=%s:%u retention=%s interval=%s "
           "max_series=%zu max_points=%zu max_memory=%zu",
           SB_VERSION_STRING, host, (unsigned)port, ret, ivl, o->max_series,
           o->max_points, o->max_memory);
}

static void fill_server_options(const sb_cli_serve *o, sb_server_options *so)
{
    sb_server_options_init(so);
    so->listen = o->listen;
    so->interval_ns = o->interval_ns;
    so->max_body = o->max_body;
    so->cors_origins = o->cors;
    so->ncors_origins = o->ncors;
    so->access_log = o->access_log;
    so->collect_process = !o->no_process;
    so->collect_system = !o->no_system;
    so->statsd_listen = o->statsd;
    so->scrape = o->scrape;
    so->nscrape = o->nscrape;
    so->log_level = o->log_level;
    so->log = sb_log_stderr;
    so->log_ud = NULL;
}

/* Raises the soft open-file limit towards the hard one, so the server
 * can hold its 16,384 connections: the common default of 1024 would stop
 * it near a thousand idle clients. */
static void raise_fd_limit(void)
{
    rlim_t want = 16384 + 64;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        want = rl.rlim_max;
    rl.rlim_cur = want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Waits for SIGINT or SIGTERM (blocked in every thread). */
static int wait_signal(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

/* Runs the server with parsed options; returns the exit code. */
static int run(const sb_cli_serve *o, const sigset_t *set)
{
    sb_logger lg = {sb_log_stderr, NULL, o->log_level};
    sb_store_options sto;
    sb_server_options so;
    sb_store *store = NULL;
    sb_server *srv = NULL;
    char addr[300], q[80];
    int rc, sig;

    sb_store_options_init(&sto);
    sto.retention_ns = o->retention_ns;
    sto.max_series = o->max_series;
    sto.max_points_per_series = o->max_points;
    sto.max_memory = o->max_memory;
    rc = sb_store_create(&sto, &store);
    if (rc < 0) {
        SB_LOG(&lg, SB_LOG_ERROR, "startup_failed error=%s",
               sb__log_quote(sb_strerror(rc), q, sizeof q));
        return SB_CLI_EXIT_FAIL;
    }

    fill_server_options(o, &so);
    rc = sb_server_start(store, &so, &srv);
    if (rc < 0) {
        SB_LOG(&lg, SB_LOG_ERROR, "startup_failed address=%s error=%s",
               sb__log_quote(o->listen, addr, sizeof addr),
               sb__log_quote(sb_strerror(rc), q, sizeof q));
        sb_store_destroy(store);
        return SB_CLI_EXIT_FAIL;
    }
    log_started(&lg, o, sb_server_port(srv));

    sig = wait_signal(set);
    SB_LOG(&lg, SB_LOG_INFO, "shutting down signal=%s",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    sb_server_stop(srv);
    sb_store_destroy(store);
    SB_LOG(&lg, SB_LOG_INFO, "exiting code=0");
    return SB_CLI_EXIT_OK;
}

int sb__cli_serve_main(int argc, char *const *argv, char *const *envp)
{
    char err[SB_CLI_ERR_MAX];
    sb_cli_serve o;
    sigset_t set;
    int code;

    if (sb__cli_parse_serve(argc, argv, envp, &o, err, sizeof err) < 0) {
        fprintf(stderr,
                "scoreboard: serve: %s\nRun 'scoreboard serve --help' for "
                "usage.\n",
                err);
        return SB_CLI_EXIT_USAGE;
    }
    if (o.help) {
        sb__cli_usage(stdout);
        sb__cli_serve_free(&o);
        return SB_CLI_EXIT_OK;
    }

    /* Before any thread exists, so all of them inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    code = run(&o, &set);
    sb__cli_serve_free(&o);
    return code;
}
