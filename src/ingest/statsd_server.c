/*
 * statsd_server.c - the StatsD sockets and their two threads.
 *
 * UDP: one thread polls the socket and an eventfd; when the socket is
 * readable it drains it with recvmmsg() in batches of BATCH datagrams
 * (MSG_DONTWAIT) until EAGAIN, checking the stop flag between batches so
 * a flood cannot keep it from stopping. The socket asks for a large
 * receive buffer (SO_RCVBUFFORCE, else SO_RCVBUF) and for SO_RXQ_OVFL:
 * every datagram then carries the socket's running count of datagrams
 * the kernel dropped for lack of buffer space, whose increase is added to
 * scoreboard_statsd_dropped_packets_total{reason="kernel"}.
 *
 * TCP: one thread polls the listening socket, the eventfd and up to
 * SB_STATSD_TCP_CONNS_MAX connections. Each connection has a buffer of
 * SB_STATSD_LINE_MAX bytes; complete lines are fed as they arrive, a
 * line that fills the buffer without a newline is counted as malformed
 * and skipped up to its newline, and the unterminated rest is fed when
 * the peer closes. A connection idle for SB_STATSD_TCP_IDLE_NS is closed.
 *
 * Stopping sets the stop flag and writes the eventfd, which both polls
 * watch (nobody reads it, so it stays readable); both threads are then
 * joined. No lock is held while reading sockets.
 */
#include "ingest/statsd_server.h"

#include "http/internal.h" /* sb__listen_parse */

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH           32
#define DGRAM_MAX       65536
#define PORT_TRIES      32
#define POLL_MS         1000
#define NS_PER_SEC      1000000000LL
#define LOG_LINES_PER_S 5
#define ERROR_PAUSE_NS  (10 * 1000 * 1000L)
#define READS_PER_ROUND 16 /* reads (or accepts) per socket per poll */

typedef struct tcp_conn {
    int fd;
    char *buf; /* SB_STATSD_LINE_MAX bytes */
    size_t len;
    bool skipping; /* discarding an over-long line up to its newline */
    int64_t last_ns;
} tcp_conn;

struct sb_statsd_server {
    sb_statsd_agg *agg;
    sb_logger log;
    int udp_fd, tcp_fd, wake_fd;
    uint16_t port;
    atomic_bool stop;
    bool udp_started, tcp_started;
    pthread_t udp_thread, tcp_thread;
    sb_ratelimit loglimit; /* refusal and receive-error lines, both threads */
    uint32_t kernel_drops; /* last SO_RXQ_OVFL count seen (UDP thread) */
    tcp_conn conns[SB_STATSD_TCP_CONNS_MAX];
    size_t nconns;
};

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static void log_errno(sb_statsd_server *s, const char *event, int err)
{
    char eb[128], q[160];

    SB_LOG(&s->log, SB_LOG_ERROR, "%s error=%s", event,
           sb__log_quote(strerror_r(err, eb, sizeof eb), q, sizeof q));
}

/* ------------------------------------------------------------ sockets */

/* A socket of the given type bound to host:port, or -1 with errno. */
static int bind_one(const char *host, uint16_t port, int socktype, bool v6)
{
    struct addrinfo hints, *res = NULL;
    char serv[8];
    int fd = -1, err = EADDRNOTAVAIL, one = 1;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = v6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(serv, sizeof serv, "%u", (unsigned)port);
    if (getaddrinfo(host, serv, &hints, &res) != 0) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0;
         ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if ((socktype == SOCK_STREAM &&
             setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            (socktype == SOCK_STREAM && listen(fd, 128) < 0)) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    errno = err;
    return fd;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Binds UDP then TCP on the same port; with port 0 retries until a port
 * the kernel picked for UDP is also free for TCP. */
static int bind_both(sb_statsd_server *s, const char *host, uint16_t port,
                     bool v6)
{
    for (int tries = 0; tries < PORT_TRIES; tries++) {
        s->udp_fd = bind_one(host, port, SOCK_DGRAM, v6);
        if (s->udp_fd < 0)
            return -1;
        s->port = bound_port(s->udp_fd);
        s->tcp_fd = bind_one(host, s->port, SOCK_STREAM, v6);
        if (s->tcp_fd >= 0)
            return 0;
        if (port != 0 || errno != EADDRINUSE)
            break;
        close(s->udp_fd);
        s->udp_fd = -1;
    }
    return -1;
}

/* Asks for a large receive buffer and kernel drop counts; returns the
 * buffer size granted (as getsockopt reports it). */
static int tune_udp(sb_statsd_server *s)
{
    int want = SB_STATSD_RCVBUF, got = 0, one = 1;
    socklen_t len = sizeof got;

    if (setsockopt(s->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) <
        0)
        setsockopt(s->udp_fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
    if (setsockopt(s->udp_fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0)
        SB_LOG(&s->log, SB_LOG_WARN,
               "statsd_kernel_drops_uncounted reason=\"SO_RXQ_OVFL refused\"");
    getsockopt(s->udp_fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
    return got;
}

/* ------------------------------------------------------------ UDP */

typedef struct udp_batch {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    char ctrl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
    char data[BATCH][DGRAM_MAX];
    sb_statsd_line line;
} udp_batch;

static void note_kernel_drops(sb_statsd_server *s, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
         c = CMSG_NXTHDR(mh, c)) {
        uint32_t total;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
            continue;
        memcpy(&total, CMSG_DATA(c), sizeof total);
        if (total != s->kernel_drops)
            sb__statsd_agg_count_drop(s->agg, SB_STATSD_DROP_KERNEL,
                                      (uint32_t)(total - s->kernel_drops));
        s->kernel_drops = total;
    }
}

/* Reads batches until the socket is empty or stop is set. false on a
 * socket error (logged). */
static bool udp_drain(sb_statsd_server *s, udp_batch *b)
{
    uint64_t suppressed = 0;

    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        int n;

        for (int i = 0; i < BATCH; i++) {
            b->msgs[i].msg_hdr.msg_controllen = sizeof b->ctrl[i];
            b->msgs[i].msg_hdr.msg_flags = 0;
        }
        n = recvmmsg(s->udp_fd, b->msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (sb__ratelimit_allow(&s->loglimit, mono_ns(), &suppressed))
                log_errno(s, "statsd_udp_recv_failed", errno);
            return false;
        }
        sb__statsd_agg_count_packets(s->agg, (uint64_t)n);
        for (int i = 0; i < n; i++) {
            note_kernel_drops(s, &b->msgs[i].msg_hdr);
            sb__statsd_agg_feed(s->agg, SB_STATSD_UDP, b->data[i],
                                b->msgs[i].msg_len, &b->line);
        }
    }
    return true;
}

static void *udp_main(void *arg)
{
    sb_statsd_server *s = arg;
    udp_batch *b = calloc(1, sizeof *b);

    if (b == NULL) {
        SB_LOG(&s->log, SB_LOG_ERROR, "statsd_udp_failed error=\"no memory\"");
        return NULL;
    }
    for (int i = 0; i < BATCH; i++) {
        b->iov[i] = (struct iovec){b->data[i], DGRAM_MAX};
        b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
        b->msgs[i].msg_hdr.msg_iovlen = 1;
        b->msgs[i].msg_hdr.msg_control = b->ctrl[i];
    }
    while (!atomic_load(&s->stop)) {
        struct pollfd p[2] = {{s->udp_fd, POLLIN, 0}, {s->wake_fd, POLLIN, 0}};

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_errno(s, "statsd_udp_poll_failed", errno);
            break;
        }
        if (p[1].revents != 0)
            break;
        if (p[0].revents != 0 && !udp_drain(s, b)) {
            /* A receive error (logged) is not fatal: pause briefly so a
             * persistent one cannot spin, then listen again. */
            struct timespec pause = {0, ERROR_PAUSE_NS};

            nanosleep(&pause, NULL);
        }
    }
    free(b);
    return NULL;
}

/* ------------------------------------------------------------ TCP */

static void conn_close(sb_statsd_server *s, size_t i)
{
    close(s->conns[i].fd);
    free(s->conns[i].buf);
    s->conns[i] = s->conns[--s->nconns];
    sb__statsd_agg_count_connection(s->agg, -1);
}

static void tcp_accept(sb_statsd_server *s)
{
    uint64_t suppressed = 0;

    for (int round = 0; round < READS_PER_ROUND; round++) {
        int fd = accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        tcp_conn *c;

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                log_errno(s, "statsd_tcp_accept_failed", errno);
            return;
        }
        if (s->nconns == SB_STATSD_TCP_CONNS_MAX) {
            close(fd);
            sb__statsd_agg_count_drop(s->agg, SB_STATSD_DROP_CONN_LIMIT, 1);
            if (sb__ratelimit_allow(&s->loglimit, mono_ns(), &suppressed))
                SB_LOG(&s->log, SB_LOG_WARN,
                       "statsd_tcp_refused reason=connection_limit limit=%d "
                       "suppressed=%llu",
                       SB_STATSD_TCP_CONNS_MAX, (unsigned long long)suppressed);
            continue;
        }
        c = &s->conns[s->nconns];
        *c = (tcp_conn){
            .fd = fd, .buf = malloc(SB_STATSD_LINE_MAX), .last_ns = mono_ns()};
        if (c->buf == NULL) {
            close(fd);
            continue;
        }
        s->nconns++;
        sb__statsd_agg_count_connection(s->agg, 1);
    }
}

/* Feeds the complete lines in c->buf in one call (so they share a flush
 * interval) and keeps the unterminated rest. */
static void conn_lines(sb_statsd_server *s, tcp_conn *c, sb_statsd_line *line)
{
    size_t start = 0;
    const char *last;

    if (c->skipping) {
        const char *nl = memchr(c->buf, '\n', c->len);

        if (nl == NULL) { /* still inside the over-long line */
            c->len = 0;
            return;
        }
        start = (size_t)(nl - c->buf) + 1;
        c->skipping = false;
    }
    last = memrchr(c->buf + start, '\n', c->len - start);
    if (last != NULL) {
        size_t end = (size_t)(last - c->buf);

        sb__statsd_agg_feed(s->agg, SB_STATSD_TCP, c->buf + start, end - start,
                            line);
        start = end + 1;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    if (c->len == SB_STATSD_LINE_MAX) {
        sb__statsd_agg_malformed(s->agg, SB_STATSD_TCP, "line too long", c->buf,
                                 c->len);
        c->skipping = true;
        c->len = 0;
    }
}

/* Reads what c has, at most READS_PER_ROUND times so one busy sender
 * cannot starve the other connections or delay a stop; false when the
 * connection is finished. */
static bool conn_read(sb_statsd_server *s, tcp_conn *c, sb_statsd_line *line)
{
    for (int round = 0; round < READS_PER_ROUND; round++) {
        ssize_t n = read(c->fd, c->buf + c->len, SB_STATSD_LINE_MAX - c->len);

        if (n > 0) {
            c->len += (size_t)n;
            c->last_ns = mono_ns();
            conn_lines(s, c, line);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        /* EOF or error: the unterminated last line still counts. */
        if (c->len > 0 && !c->skipping)
            sb__statsd_agg_feed(s->agg, SB_STATSD_TCP, c->buf, c->len, line);
        return false;
    }
    return true; /* more to read: poll reports it again */
}

static void tcp_service(sb_statsd_server *s, struct pollfd *p, size_t np,
                        sb_statsd_line *line)
{
    int64_t now = mono_ns();

    /* Backwards, as conn_close moves the last connection into slot i. */
    for (size_t k = np; k-- > 2;) {
        size_t i = k - 2;
        tcp_conn *c = &s->conns[i];

        if (p[k].revents != 0 && !conn_read(s, c, line)) {
            conn_close(s, i);
        } else if (now - c->last_ns > SB_STATSD_TCP_IDLE_NS) {
            SB_LOG(&s->log, SB_LOG_DEBUG, "statsd_tcp_idle_closed");
            conn_close(s, i);
        }
    }
    if (p[0].revents != 0)
        tcp_accept(s);
}

static void *tcp_main(void *arg)
{
    sb_statsd_server *s = arg;
    struct pollfd p[SB_STATSD_TCP_CONNS_MAX + 2];
    sb_statsd_line *line = malloc(sizeof *line);

    if (line == NULL) {
        SB_LOG(&s->log, SB_LOG_ERROR, "statsd_tcp_failed error=\"no memory\"");
        return NULL;
    }
    while (!atomic_load(&s->stop)) {
        size_t np = 2;

        p[0] = (struct pollfd){s->tcp_fd, POLLIN, 0};
        p[1] = (struct pollfd){s->wake_fd, POLLIN, 0};
        for (size_t i = 0; i < s->nconns; i++)
            p[np++] = (struct pollfd){s->conns[i].fd, POLLIN, 0};
        if (poll(p, (nfds_t)np, POLL_MS) < 0) {
            if (errno == EINTR)
                continue;
            log_errno(s, "statsd_tcp_poll_failed", errno);
            break;
        }
        if (p[1].revents != 0)
            break;
        tcp_service(s, p, np, line);
    }
    while (s->nconns > 0)
        conn_close(s, s->nconns - 1);
    free(line);
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static int open_sockets(sb_statsd_server *s, const char *listen)
{
    char host[SB_LISTEN_HOST_MAX + 1], q[300], rq[128];
    const char *reason = NULL;
    uint16_t port = 0;
    bool v6 = false;
    int rcvbuf;

    if (sb__listen_parse(listen, host, sizeof host, &port, &v6, &reason) < 0) {
        SB_LOG(&s->log, SB_LOG_ERROR,
               "statsd_listen_invalid address=%s reason=%s",
               sb__log_quote(listen ? listen : "", q, sizeof q),
               sb__log_quote(reason, rq, sizeof rq));
        return SB_EADDR;
    }
    if (bind_both(s, host, port, v6) < 0) {
        char eb[128];

        SB_LOG(&s->log, SB_LOG_ERROR,
               "statsd_listen_failed address=%s error=%s",
               sb__log_quote(listen, q, sizeof q),
               sb__log_quote(strerror_r(errno, eb, sizeof eb), rq, sizeof rq));
        return SB_EADDR;
    }
    rcvbuf = tune_udp(s); /* not inside SB_LOG: it may skip its arguments */
    SB_LOG(&s->log, SB_LOG_INFO, "statsd_listening address=%s%s%s:%u rcvbuf=%d",
           v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)s->port, rcvbuf);
    return 0;
}

int sb__statsd_server_start(const char *listen, sb_statsd_agg *agg,
                            const sb_logger *log, sb_statsd_server **out)
{
    sb_statsd_server *s = calloc(1, sizeof *s);
    int rc = SB_ESYS;

    if (s == NULL)
        return SB_ENOMEM;
    s->agg = agg;
    s->udp_fd = s->tcp_fd = -1;
    if (log != NULL)
        s->log = *log;
    atomic_init(&s->stop, false);
    sb__ratelimit_init(&s->loglimit, LOG_LINES_PER_S, NS_PER_SEC);
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0)
        goto fail;
    rc = open_sockets(s, listen);
    if (rc < 0)
        goto fail;
    rc = SB_ESYS;
    if (pthread_create(&s->udp_thread, NULL, udp_main, s) != 0)
        goto fail;
    s->udp_started = true;
    if (pthread_create(&s->tcp_thread, NULL, tcp_main, s) != 0)
        goto fail;
    s->tcp_started = true;
    *out = s;
    return 0;

fail:
    sb__statsd_server_stop(s);
    return rc;
}

uint16_t sb__statsd_server_port(const sb_statsd_server *s)
{
    return s != NULL ? s->port : 0;
}

void sb__statsd_server_stop(sb_statsd_server *s)
{
    uint64_t one = 1;

    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof one) < 0)
        log_errno(s, "statsd_wake_failed", errno);
    if (s->udp_started)
        pthread_join(s->udp_thread, NULL);
    if (s->tcp_started)
        pthread_join(s->tcp_thread, NULL);
    if (s->udp_fd >= 0)
        close(s->udp_fd);
    if (s->tcp_fd >= 0)
        close(s->tcp_fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s);
}
