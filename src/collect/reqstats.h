/*
 * reqstats.h - request counters and latency summaries of the HTTP server.
 *
 * The HTTP layer calls sb__reqstats_record() once per finished request,
 * from any worker thread; recording is lock-free (atomic increments into
 * fixed arrays). The requests collector turns the figures into series on
 * every tick:
 *
 *   scoreboard_http_requests_total{route,method,code}       counter
 *   scoreboard_http_request_duration_seconds{route,quantile} p50/p90/p99
 *       of the requests finished during the last interval
 *   scoreboard_http_request_duration_seconds_max{route}      same interval
 *   scoreboard_http_request_duration_seconds_count{route}    counter
 *   scoreboard_http_request_duration_seconds_sum{route}      counter
 *
 * Routes and methods are small fixed sets chosen by the HTTP layer (an
 * unknown path is one route, "unmatched"), so hostile clients cannot grow
 * the number of series. Durations go into a log-linear histogram with
 * 1/32 relative bucket width (quantiles within about 3% of the truth),
 * from 1 microsecond to about 70 seconds; slower requests land in the
 * last bucket and still count in max and sum exactly.
 */
#ifndef SB_COLLECT_REQSTATS_H
#define SB_COLLECT_REQSTATS_H

#include "collect/collector.h"

#include <stdint.h>

typedef struct sb_reqstats sb_reqstats;

/* route_names and method_names are static arrays of static strings that
 * must outlive the object. */
int sb__reqstats_create(const char *const *route_names, size_t nroutes,
                        const char *const *method_names, size_t nmethods,
                        sb_reqstats **out);
void sb__reqstats_destroy(sb_reqstats *rs);

/* route < nroutes, method < nmethods; status is the HTTP status sent. */
void sb__reqstats_record(sb_reqstats *rs, unsigned route, unsigned method,
                         unsigned status, int64_t duration_ns);

/* A collector that reads rs (borrowed; must outlive the collector). */
int sb__collector_requests(sb_reqstats *rs, sb_collector *out);

#endif
