/*
 * server.c - sb_server_*: options, the listening socket, the MHD daemon,
 * the collectors, and graceful shutdown.
 *
 * Start order: bind our own socket (so the port is known and errors are
 * ours to report), start MHD on it, log `listening address=HOST:PORT`,
 * then start the collector runner. Stop order: refuse new connections
 * (MHD_quiesce_daemon), wait up to STOP_GRACE_NS for in-flight requests,
 * stop MHD (which closes idle keep-alive and still-running connections),
 * close the listening socket, stop the runner, free.
 *
 * The listening socket belongs to us until MHD_start_daemon succeeds,
 * to MHD afterwards, and to us again once quiesce hands it back; MHD
 * requires it to stay open until MHD_stop_daemon returns.
 */
#include "http/internal.h"

#include "collect/scrape.h"
#include "ingest/statsd_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_THREADS   4
#define MAX_THREADS       256
#define LISTEN_BACKLOG    1024
#define CONN_TIMEOUT_S    30
#define CONN_LIMIT_MAX    16384
#define CONN_FD_RESERVE   64 /* for the rest of the process: /proc, logs */
#define CONN_MEMORY       (32 * 1024) /* MHD zeroes it per request */
#define STOP_GRACE_NS     (500 * 1000 * 1000LL)
#define ERR_LINES_PER_SEC 20
#define MHD_LINES_PER_SEC 10
#define NS_PER_SEC        1000000000LL

void sb_server_options_init(sb_server_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->listen = "127.0.0.1:8080";
    opts->interval_ns = NS_PER_SEC;
    opts->max_body = 1024 * 1024;
    opts->max_query_points = 1000000;
    opts->max_query_values = 100000;
    opts->collect_process = true;
    opts->collect_system = true;
    opts->threads = 0;
    opts->log_level = SB_LOG_INFO;
    opts->log = NULL;
}

/* ------------------------------------------------------------ socket */

/* "HOST:PORT" of a bound socket, brackets around IPv6. */
static void format_addr(const struct sockaddr_storage *ss, socklen_t len,
                        char *out, size_t n)
{
    char host[96], serv[16]; /* numeric forms only */

    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof host, serv,
                    sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV)) {
        snprintf(out, n, "?");
        return;
    }
    if (ss->ss_family == AF_INET6)
        snprintf(out, n, "[%s]:%s", host, serv);
    else
        snprintf(out, n, "%s:%s", host, serv);
}

/* A listening socket bound to one resolved address, or -1 with errno. */
static int listen_on(const struct addrinfo *ai)
{
    int one = 1;
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);

    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, LISTEN_BACKLOG) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int resolve(sb_server *srv, const char *listen_addr, const char *host,
                   uint16_t port, bool v6, struct addrinfo **res)
{
    struct addrinfo hints;
    char serv[8], q[300], eq[120];
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = v6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | (v6 ? AI_NUMERICHOST : 0);
    snprintf(serv, sizeof serv, "%u", (unsigned)port);
    rc = getaddrinfo(host, serv, &hints, res);
    if (rc != 0) {
        SB_LOG(&srv->log, SB_LOG_ERROR, "listen_failed address=%s error=%s",
               sb__log_quote(listen_addr, q, sizeof q),
               sb__log_quote(gai_strerror(rc), eq, sizeof eq));
        return SB_EADDR;
    }
    return 0;
}

/* Parses opts->listen, binds the first address that accepts, and reads
 * back the port actually bound. */
static int open_listener(sb_server *srv, const char *listen_addr)
{
    char host[SB_LISTEN_HOST_MAX + 1], q[300], ebuf[128], eq[160];
    struct addrinfo *res = NULL;
    const char *reason = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    uint16_t port;
    bool v6 = false;
    int fd = -1, err = 0;

    if (sb__listen_parse(listen_addr, host, sizeof host, &port, &v6, &reason) <
        0) {
        SB_LOG(&srv->log, SB_LOG_ERROR, "listen_invalid address=%s reason=%s",
               sb__log_quote(listen_addr ? listen_addr : "", q, sizeof q),
               sb__log_quote(reason, ebuf, sizeof ebuf));
        return SB_EADDR;
    }
    if (resolve(srv, listen_addr, host, port, v6, &res) < 0)
        return SB_EADDR;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0;
         ai = ai->ai_next) {
        fd = listen_on(ai);
        if (fd < 0)
            err = errno;
    }
    freeaddrinfo(res);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
        if (fd >= 0) {
            err = errno;
            close(fd);
        }
        SB_LOG(
            &srv->log, SB_LOG_ERROR, "listen_failed address=%s error=%s",
            sb__log_quote(listen_addr, q, sizeof q),
            sb__log_quote(strerror_r(err, ebuf, sizeof ebuf), eq, sizeof eq));
        return SB_EADDR;
    }
    srv->listen_fd = fd;
    srv->port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    format_addr(&ss, sslen, srv->address, sizeof srv->address);
    return 0;
}

/* --------------------------------------------------------------- MHD */

/* MHD's own diagnostics, rate-limited, at warn. */
__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    sb_server *srv = cls;
    char msg[400], q[500];
    uint64_t suppressed = 0;
    size_t n;

    if (srv->log.fn == NULL || srv->log.level < SB_LOG_WARN)
        return;
    if (!sb__ratelimit_allow(&srv->mhdlimit, sb__mono_now(), &suppressed))
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    SB_LOG(&srv->log, SB_LOG_WARN, "mhd message=%s suppressed=%llu",
           sb__log_quote(msg, q, sizeof q), (unsigned long long)suppressed);
}

/*
 * Connections MHD may hold at once: CONN_LIMIT_MAX, or fewer when the
 * open-file limit is lower, so that CONN_FD_RESERVE descriptors stay
 * free for the collectors' /proc reads. Past the limit MHD stops
 * accepting; new clients wait in the listen backlog until a connection
 * closes (idle ones after CONN_TIMEOUT_S).
 */
static unsigned conn_limit(unsigned threads)
{
    struct rlimit rl;
    rlim_t n = CONN_LIMIT_MAX;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        n = rl.rlim_cur > 2 * CONN_FD_RESERVE ? rl.rlim_cur - CONN_FD_RESERVE
                                              : rl.rlim_cur / 2;
    if (n > CONN_LIMIT_MAX)
        n = CONN_LIMIT_MAX;
    if (n < 4 * (rlim_t)threads) /* MHD splits the limit among threads */
        n = 4 * (rlim_t)threads;
    return (unsigned)n;
}

/*
 * Starts MHD on our socket. One thread means no pool: MHD warns about a
 * pool size of 0 or 1, so then the pool option is left out by ending the
 * option list where it would start.
 */
static int start_mhd(sb_server *srv, unsigned threads)
{
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    enum MHD_OPTION pool =
        threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END;

    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, sb__http_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->listen_fd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, conn_limit(threads),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, sb__http_uri_log, srv,
        MHD_OPTION_NOTIFY_COMPLETED, sb__http_completed, srv, pool, threads,
        MHD_OPTION_END);
    if (srv->mhd == NULL) {
        SB_LOG(&srv->log, SB_LOG_ERROR, "http_start_failed address=%s",
               srv->address);
        return SB_ESYS;
    }
    srv->listen_fd = -1; /* MHD's now */
    return 0;
}

/* -------------------------------------------------------- collectors */

/* Creates the enabled collectors and starts the runner, which owns them
 * from then on (also when starting fails). */
static int start_collectors(sb_server *srv, const sb_server_options *opts)
{
    sb_collector cols[5];
    char q[80];
    size_t n = 0;
    int rc = 0;

    memset(cols, 0, sizeof cols);
    if (opts->collect_process)
        rc = sb__collector_process(&cols[n++]);
    if (rc == 0 && opts->collect_system)
        rc = sb__collector_system(&cols[n++]);
    if (rc == 0)
        rc = sb__collector_requests(srv->reqstats, &cols[n++]);
    if (rc == 0 && srv->statsd_agg != NULL)
        rc = sb__collector_statsd(srv->statsd_agg, &cols[n++]);
    /* Last, so its counts include what the others wrote this tick. */
    if (rc == 0)
        rc = sb__collector_store(&cols[n++]);
    if (rc < 0) {
        n--; /* the failed one filled nothing */
        for (size_t i = 0; i < n; i++) {
            if (cols[i].destroy != NULL)
                cols[i].destroy(cols[i].state);
        }
        SB_LOG(&srv->log, SB_LOG_ERROR, "collector_failed error=%s",
               sb__log_quote(sb_strerror(rc), q, sizeof q));
        return rc;
    }
    rc = sb__runner_start(srv->store, cols, n, opts->interval_ns, &srv->log,
                          &srv->runner);
    if (rc < 0)
        SB_LOG(&srv->log, SB_LOG_ERROR, "runner_failed error=%s",
               sb__log_quote(sb_strerror(rc), q, sizeof q));
    return rc;
}

/* ------------------------------------------------------- lifecycle */

static int copy_cors(sb_server *srv, const sb_server_options *opts)
{
    if (opts->ncors_origins == 0 || opts->cors_origins == NULL)
        return 0;
    srv->cors = calloc(opts->ncors_origins, sizeof *srv->cors);
    if (srv->cors == NULL)
        return SB_ENOMEM;
    for (size_t i = 0; i < opts->ncors_origins; i++) {
        const char *o = opts->cors_origins[i];

        if (o == NULL || o[0] == '\0')
            continue; /* an empty entry matches nothing */
        srv->cors[srv->ncors] = strdup(o);
        if (srv->cors[srv->ncors] == NULL)
            return SB_ENOMEM;
        srv->ncors++;
    }
    return 0;
}

static int check_options(sb_server *srv, const sb_server_options *opts)
{
    if (opts->interval_ns <= 0) {
        SB_LOG(&srv->log, SB_LOG_ERROR,
               "server_invalid reason=\"interval must be positive\"");
        return SB_EINVAL;
    }
    if (opts->threads > MAX_THREADS) {
        SB_LOG(&srv->log, SB_LOG_ERROR,
               "server_invalid reason=\"at most %d threads\"", MAX_THREADS);
        return SB_EINVAL;
    }
    return 0;
}

static int init_sync(sb_server *srv)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_condattr_init(&ca) != 0)
        return SB_ESYS;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&srv->idle, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return SB_ESYS;
    if (pthread_mutex_init(&srv->mu, NULL) != 0) {
        pthread_cond_destroy(&srv->idle);
        return SB_ESYS;
    }
    srv->sync_live = true;
    return 0;
}

/* Frees whatever part of srv exists; MHD must already be stopped. */
static void server_free(sb_server *srv)
{
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    sb__statsd_server_stop(srv->statsd_listener);
    sb__scraper_stop(srv->scraper);
    sb__runner_stop(srv->runner);
    sb__statsd_agg_destroy(srv->statsd_agg);
    sb__reqstats_destroy(srv->reqstats);
    for (size_t i = 0; i < srv->ncors; i++)
        free(srv->cors[i]);
    free(srv->cors);
    if (srv->sync_live) {
        pthread_mutex_destroy(&srv->mu);
        pthread_cond_destroy(&srv->idle);
    }
    free(srv);
}

static int server_setup(sb_server *srv, const sb_server_options *opts)
{
    unsigned threads = opts->threads ? opts->threads : DEFAULT_THREADS;
    int rc;

    if ((rc = check_options(srv, opts)) < 0 || (rc = init_sync(srv)) < 0 ||
        (rc = copy_cors(srv, opts)) < 0)
        return rc;
    rc = sb__reqstats_create(sb__route_names, SB_ROUTE_COUNT, sb__method_names,
                             SB_METHOD_COUNT, &srv->reqstats);
    if (rc < 0)
        return rc;
    if ((rc = open_listener(srv, opts->listen)) < 0 ||
        (rc = start_mhd(srv, threads)) < 0)
        return rc;
    SB_LOG(&srv->log, SB_LOG_INFO, "listening address=%s", srv->address);
    if (opts->statsd_listen != NULL &&
        ((rc = sb__statsd_agg_create(NULL, &srv->log, &srv->statsd_agg)) < 0 ||
         (rc = sb__statsd_server_start(opts->statsd_listen, srv->statsd_agg,
                                       &srv->log, &srv->statsd_listener)) < 0))
        return rc;
    if ((rc = start_collectors(srv, opts)) < 0 || opts->nscrape == 0)
        return rc;
    return sb__scraper_start(srv->store, opts->scrape, opts->nscrape, &srv->log,
                             &srv->scraper);
}

int sb_server_start(sb_store *store, const sb_server_options *opts,
                    sb_server **out)
{
    sb_server_options defaults;
    sb_server *srv;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (store == NULL || out == NULL)
        return SB_EINVAL;
    if (opts == NULL) {
        sb_server_options_init(&defaults);
        opts = &defaults;
    }
    srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return SB_ENOMEM;
    srv->store = store;
    srv->listen_fd = -1;
    srv->log = (sb_logger){opts->log, opts->log_ud, opts->log_level};
    srv->max_body = opts->max_body;
    srv->body_budget = opts->max_body > SIZE_MAX / SB_BODY_BUDGET_BODIES
                           ? SIZE_MAX
                           : opts->max_body * SB_BODY_BUDGET_BODIES;
    atomic_init(&srv->body_bytes, 0);
    srv->answer_budget =
        opts->max_query_points > SIZE_MAX / SB_ANSWER_BUDGET_PER_POINT
            ? SIZE_MAX
            : opts->max_query_points * SB_ANSWER_BUDGET_PER_POINT;
    atomic_init(&srv->answer_bytes, 0);
    srv->max_query_points = opts->max_query_points;
    srv->max_query_values = opts->max_query_values;
    srv->access_log = opts->access_log;
    srv->interval_ns = opts->interval_ns;
    srv->started_ns = sb_time_now();
    atomic_init(&srv->stopping, false);
    sb__ratelimit_init(&srv->errlimit, ERR_LINES_PER_SEC, NS_PER_SEC);
    sb__ratelimit_init(&srv->mhdlimit, MHD_LINES_PER_SEC, NS_PER_SEC);

    rc = server_setup(srv, opts);
    if (rc < 0) {
        if (srv->mhd != NULL)
            MHD_stop_daemon(srv->mhd);
        server_free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

uint16_t sb_server_port(const sb_server *srv)
{
    return srv != NULL ? srv->port : 0;
}

/* Waits until no request is in flight or STOP_GRACE_NS has passed. */
static void wait_idle(sb_server *srv)
{
    struct timespec deadline;
    int64_t ns = sb__mono_now() + STOP_GRACE_NS;

    deadline.tv_sec = (time_t)(ns / NS_PER_SEC);
    deadline.tv_nsec = (long)(ns % NS_PER_SEC);
    pthread_mutex_lock(&srv->mu);
    while (srv->active > 0) {
        if (pthread_cond_timedwait(&srv->idle, &srv->mu, &deadline) ==
            ETIMEDOUT)
            break;
    }
    if (srv->active > 0)
        SB_LOG(&srv->log, SB_LOG_WARN, "stop_forced requests=%zu", srv->active);
    pthread_mutex_unlock(&srv->mu);
}

void sb_server_stop(sb_server *srv)
{
    MHD_socket fd;
    sb_logger lg;

    if (srv == NULL)
        return;
    atomic_store(&srv->stopping, true);
    fd = MHD_quiesce_daemon(srv->mhd);
    wait_idle(srv);
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    srv->listen_fd = fd; /* closed by server_free, after MHD is gone */
    lg = srv->log;
    server_free(srv);
    SB_LOG(&lg, SB_LOG_INFO, "stopped");
}
