/*
 * statsd_server.h - the StatsD listener: one UDP and one TCP socket on
 * the same address and port, each served by its own thread, feeding an
 * aggregator (collect/statsd.h).
 */
#ifndef SB_INGEST_STATSD_SERVER_H
#define SB_INGEST_STATSD_SERVER_H

#include "collect/statsd.h"
#include "common/log.h"

#include <stdint.h>

/* TCP connections served at once; more are accepted and closed. */
#define SB_STATSD_TCP_CONNS_MAX 128
/* A TCP connection idle this long is closed. */
#define SB_STATSD_TCP_IDLE_NS (300 * 1000000000LL)
/* Socket receive buffer asked for (the kernel may grant less). */
#define SB_STATSD_RCVBUF (32 * 1024 * 1024)

typedef struct sb_statsd_server sb_statsd_server;

/*
 * Binds UDP and TCP on listen ("HOST:PORT" or "[V6]:PORT"; port 0 picks
 * a port free for both), starts the threads and logs
 * `statsd_listening address=HOST:PORT rcvbuf=BYTES`. agg is borrowed and
 * must outlive the server. 0, SB_EADDR (bad address, cannot bind) or
 * SB_ESYS / SB_ENOMEM.
 */
int sb__statsd_server_start(const char *listen, sb_statsd_agg *agg,
                            const sb_logger *log, sb_statsd_server **out);

uint16_t sb__statsd_server_port(const sb_statsd_server *s);

/* Wakes both threads, joins them, closes every socket and frees.
 * Returns promptly even under a flood. Accepts NULL. */
void sb__statsd_server_stop(sb_statsd_server *s);

#endif
