/*
 * request.c - the per-request context: created when MHD parses a
 * request line, finished when MHD reports the request complete.
 *
 * The URI log callback is the only place that sees the raw, undecoded
 * request target; it is split in place at the first '?' into the path
 * (routing, logs) and the query string (the parameter parser). The
 * completion callback records the request's metrics, writes its log line
 * and releases it; the server's in-flight count (srv->active) rises and
 * falls with these two callbacks, which is what sb_server_stop waits on.
 *
 * Log policy: with access_log every request gets an info line; 4xx and
 * 5xx get a warn/error line whether or not access_log is set, through a
 * rate limiter shared by all workers so hostile clients cannot flood the
 * log (the next line allowed carries suppressed=N).
 */
#include "http/internal.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int64_t sb__mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void *sb__http_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    sb_server *srv = cls;
    sb_request *rq = calloc(1, sizeof *rq);
    char *q;

    (void)c;
    if (rq == NULL)
        return NULL;
    rq->uri = strdup(uri != NULL ? uri : "");
    if (rq->uri == NULL) {
        free(rq);
        return NULL;
    }
    rq->srv = srv;
    rq->start_ns = sb__mono_now();
    q = strchr(rq->uri, '?');
    rq->path_len = q != NULL ? (size_t)(q - rq->uri) : strlen(rq->uri);
    if (q != NULL) {
        *q = '\0';
        rq->query = q + 1;
        rq->query_len = strlen(rq->query);
    }
    rq->route = sb__route_lookup(rq->uri, rq->path_len);
    rq->method = SB_METHOD_OTHER;
    sb__buf_init(&rq->body, 0);

    pthread_mutex_lock(&srv->mu);
    srv->active++;
    pthread_mutex_unlock(&srv->mu);
    return rq;
}

static bool log_enabled(const sb_logger *lg, int level)
{
    return lg->fn != NULL && level <= lg->level;
}

/* The client's numeric address, or "-". */
static void remote_addr(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS)
          : NULL;
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    socklen_t len;

    snprintf(out, n, "-");
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        len = sizeof(struct sockaddr_in);
    else if (sa->sa_family == AF_INET6)
        len = sizeof(struct sockaddr_in6);
    else
        return;
    if (getnameinfo(sa, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST))
        snprintf(out, n, "-");
}

static const char *toe_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    default:
        return "other";
    }
}

/* The level of a finished request's line, or -1 for no line. Error
 * lines pass the rate limiter here; *suppressed gets its count. */
static int request_level(sb_server *srv, const sb_request *rq,
                         uint64_t *suppressed)
{
    int level;

    *suppressed = 0;
    if (rq->status == 0)
        level = SB_LOG_DEBUG; /* MHD or the client ended it unanswered */
    else if (rq->status >= 500)
        level = SB_LOG_ERROR;
    else if (rq->status >= 400)
        level = SB_LOG_WARN;
    else
        level = srv->access_log ? SB_LOG_INFO : -1;
    if (level < 0 || !log_enabled(&srv->log, level))
        return -1;
    if (rq->status >= 400 &&
        !sb__ratelimit_allow(&srv->errlimit, sb__mono_now(), suppressed))
        return -1;
    return level;
}

static void log_request(sb_server *srv, struct MHD_Connection *c,
                        const sb_request *rq,
                        enum MHD_RequestTerminationCode toe,
                        int64_t duration_ns)
{
    char path[256], method[40], err[200], remote[64], extra[64];
    const char *aborted = toe_name(toe);
    uint64_t suppressed;
    int level = request_level(srv, rq, &suppressed);

    if (level < 0)
        return;
    remote_addr(c, remote, sizeof remote);
    extra[0] = '\0';
    if (suppressed > 0)
        snprintf(extra, sizeof extra, " suppressed=%llu",
                 (unsigned long long)suppressed);
    SB_LOG(&srv->log, level,
           "request method=%s path=%s status=%u bytes=%llu duration_ms=%.3f "
           "remote=%s%s%s%s%s%s",
           sb__log_quote(rq->method_text[0] ? rq->method_text : "-", method,
                         sizeof method),
           sb__log_quote(rq->uri, path, sizeof path), rq->status,
           (unsigned long long)(rq->method == SB_METHOD_HEAD ? 0 : rq->bytes),
           (double)duration_ns / 1e6, remote, rq->error[0] ? " error=" : "",
           rq->error[0] ? sb__log_quote(rq->error, err, sizeof err) : "",
           aborted ? " aborted=" : "", aborted ? aborted : "", extra);
}

void sb__http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                        enum MHD_RequestTerminationCode toe)
{
    sb_server *srv = cls;
    sb_request *rq = *req_cls;
    int64_t duration;

    if (rq == NULL)
        return;
    *req_cls = NULL;
    duration = sb__mono_now() - rq->start_ns;
    if (rq->status != 0)
        sb__reqstats_record(srv->reqstats, rq->route, rq->method, rq->status,
                            duration);
    log_request(srv, c, rq, toe, duration);
    atomic_fetch_sub(&srv->body_bytes, rq->body_counted);
    sb__answer_give(rq);
    sb__buf_free(&rq->body);
    free(rq->uri);
    free(rq);

    pthread_mutex_lock(&srv->mu);
    if (--srv->active == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
}
