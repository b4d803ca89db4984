/*
 * internal.h - shared state of the HTTP layer (server.c, request.c,
 * router.c, response.c, stream.c, gzip.c, util.c).
 *
 * Request lifecycle, as libmicrohttpd (MHD) drives it:
 *   1. the URI log callback (request.c) sees the raw request line first;
 *      it allocates an sb_request holding a copy of the raw URI, which
 *      MHD then hands to every later callback as *req_cls, and counts the
 *      request as in flight;
 *   2. the access handler (router.c) is called once with the headers and,
 *      for uploads, again for every piece of the body; it queues exactly
 *      one response, setting rq->status;
 *   3. the completion callback (request.c) records the request's metrics,
 *      writes the access-log line, frees the sb_request and counts the
 *      request as finished (which sb_server_stop waits for).
 * Every callback for one connection runs on the same MHD worker thread,
 * so an sb_request is never shared between threads while it is live.
 */
#ifndef SB_HTTP_INTERNAL_H
#define SB_HTTP_INTERNAL_H

#include "collect/collector.h"
#include "collect/reqstats.h"
#include "collect/statsd.h"
#include "common/buf.h"
#include "common/log.h"
#include "scoreboard.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZLIB_CONST /* next_in is const */
#include <zlib.h>

/* Routes and methods as request metrics see them: small fixed sets, so
 * hostile clients cannot create series. */
enum sb_route_id {
    SB_ROUTE_METRICS,
    SB_ROUTE_SERIES,
    SB_ROUTE_HEALTHZ,
    SB_ROUTE_QUERY,
    SB_ROUTE_UI,     /* GET / (dashboard.c) */
    SB_ROUTE_ASSETS, /* GET /assets/<any name>: one route for all */
    SB_ROUTE_STATUS, /* GET /api/v1/status */
    SB_ROUTE_UNMATCHED,
    SB_ROUTE_COUNT
};

enum sb_method_id {
    SB_METHOD_GET,
    SB_METHOD_HEAD,
    SB_METHOD_POST,
    SB_METHOD_OPTIONS,
    SB_METHOD_OTHER,
    SB_METHOD_COUNT
};

extern const char *const sb__route_names[SB_ROUTE_COUNT];
extern const char *const sb__method_names[SB_METHOD_COUNT];

/* Bodies below this many bytes are never compressed. */
#define SB_GZIP_MIN 1024
/* Bodies being received at once, in multiples of max_body. */
#define SB_BODY_BUDGET_BODIES 64
/* Bytes GET answers being sent may hold, per point of max_query_points
 * (256 MB for the default 1,000,000). */
#define SB_ANSWER_BUDGET_PER_POINT 256
/* Answers estimated at most this large are outside that budget. */
#define SB_ANSWER_SMALL (64 * 1024)
/* Target size of one streamed chunk of a GET /metrics body. */
#define SB_STREAM_CHUNK (48 * 1024)

struct sb_server {
    sb_store *store; /* borrowed */
    sb_logger log;
    size_t max_body;
    size_t max_query_points;
    /* Output values of one GET /api/v1/query. */
    size_t max_query_values;
    /* Bytes of POST bodies being received, and their cap (a multiple of
     * max_body): slow uploads on many connections cannot pile up. */
    _Atomic size_t body_bytes;
    size_t body_budget;
    /* Estimated bytes held by GET answers being sent, and their cap
     * (budget.c). */
    _Atomic size_t answer_bytes;
    size_t answer_budget;
    char **cors; /* owned copies of the allowed origins */
    size_t ncors;
    bool access_log;

    struct MHD_Daemon *mhd;
    int listen_fd; /* ours until MHD_start_daemon succeeds */
    uint16_t port;
    char address[128]; /* "HOST:PORT" as bound, for log lines */
    sb_reqstats *reqstats;
    sb_runner *runner;
    sb_statsd_agg *statsd_agg;                /* NULL without --statsd */
    struct sb_statsd_server *statsd_listener; /* stopped before runner */
    struct sb_scraper *scraper;               /* NULL without scrape targets */

    int64_t interval_ns; /* collector period, for GET /api/v1/status */
    int64_t started_ns;  /* sb_time_now() at start */

    sb_ratelimit errlimit; /* 4xx/5xx request lines */
    sb_ratelimit mhdlimit; /* MHD's own diagnostics */

    /* In-flight requests: from the URI log callback to completion. */
    atomic_bool stopping;
    bool sync_live; /* mu and idle are initialised */
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when active drops to zero */
    size_t active;
};

/* One request; see the lifecycle above. */
typedef struct sb_request {
    sb_server *srv;
    int64_t start_ns;  /* CLOCK_MONOTONIC */
    char *uri;         /* raw request target, NUL-terminated, owned */
    size_t path_len;   /* uri[0..path_len) is the path */
    const char *query; /* after the first '?' (into uri), or NULL */
    size_t query_len;
    unsigned route;       /* enum sb_route_id */
    unsigned method;      /* enum sb_method_id */
    char method_text[16]; /* the method as sent, truncated, for the log */
    bool started;         /* the access handler has seen the headers */
    unsigned status;      /* 0 until a response is queued */
    uint64_t bytes;       /* body bytes produced for the client */
    sb_buf body;          /* POST upload, capped at max_body */
    bool body_too_large;
    bool body_busy;      /* refused: body_budget reached (503) */
    size_t body_counted; /* of body's bytes, counted in srv->body_bytes */
    size_t answer_cost;  /* taken from srv->answer_bytes */
    uint64_t discarded;  /* upload bytes dropped after the cap */
    char error[160];     /* the error message sent, for the log line */
} sb_request;

/* ---------------------------------------------------------- request.c */

void *sb__http_uri_log(void *cls, const char *uri, struct MHD_Connection *c);
void sb__http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                        enum MHD_RequestTerminationCode toe);
int64_t sb__mono_now(void);

/* ----------------------------------------------------------- budget.c */

struct sb_result;
/* Estimated bytes an answer built from res holds while it is sent. */
size_t sb__result_cost(const struct sb_result *res);
/* Takes cost from the server's answer budget for rq; false (nothing
 * taken) when it does not fit. */
bool sb__answer_take(sb_request *rq, size_t cost);
/* Gives back what rq took. */
void sb__answer_give(sb_request *rq);

/* ----------------------------------------------------------- router.c */

enum MHD_Result sb__http_access(void *cls, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *version, const char *upload,
                                size_t *upload_size, void **req_cls);
/* Route of an exact raw path (no query string); SB_ROUTE_UNMATCHED for
 * anything else. */
unsigned sb__route_lookup(const char *path, size_t len);
/* Method id of an HTTP method token (case-sensitive, as HTTP says). */
unsigned sb__method_lookup(const char *method);

/* ------------------------------------------------------ query_route.c */

/* Answers GET|HEAD /api/v1/query. */
enum MHD_Result sb__get_query(struct MHD_Connection *c, sb_request *rq);

/* --------------------------------------------------------- response.c */

/* Response flags for sb__respond(). */
enum {
    SB_RESP_JSON = 1 << 0,        /* Content-Type: application/json */
    SB_RESP_VARY_AE = 1 << 1,     /* Vary: Accept-Encoding */
    SB_RESP_GZIP = 1 << 2,        /* the body is gzip (Content-Encoding) */
    SB_RESP_NO_CORS = 1 << 3,     /* no Access-Control-Allow-Origin */
    SB_RESP_PROM = 1 << 4,        /* Content-Type: Prometheus text 0.0.4 */
    SB_RESP_VARY_ACCEPT = 1 << 5, /* Vary: Accept (format negotiated) */
    SB_RESP_REVALIDATE = 1 << 6,  /* Cache-Control: no-cache, not no-store */
};

/* Adds the common headers (flags above, caching, CORS) to r, queues it
 * with status, records the status in rq and drops our reference to r.
 * Returns MHD's verdict. */
enum MHD_Result sb__respond(struct MHD_Connection *c, sb_request *rq,
                            unsigned status, struct MHD_Response *r, int flags);
/* Queues {"error": msg[, "index": index]}; index < 0 omits "index". */
enum MHD_Result sb__respond_error(struct MHD_Connection *c, sb_request *rq,
                                  unsigned status, const char *msg, long index);
/* Queues a 405 with the route's Allow header. */
enum MHD_Result sb__respond_405(struct MHD_Connection *c, sb_request *rq);
/* Queues a 204 answer to OPTIONS, with preflight headers when the
 * request is a CORS preflight from an allowed origin. */
enum MHD_Result sb__respond_options(struct MHD_Connection *c, sb_request *rq);
/* Queues a complete JSON body (taking body's storage), compressed when
 * compressible, the client accepts gzip and the body is large enough. */
enum MHD_Result sb__respond_json(struct MHD_Connection *c, sb_request *rq,
                                 unsigned status, sb_buf *body,
                                 bool compressible);
/* The same for any body: flags carry the Content-Type (SB_RESP_JSON or
 * SB_RESP_PROM) and any Vary flags. */
enum MHD_Result sb__respond_buf(struct MHD_Connection *c, sb_request *rq,
                                unsigned status, sb_buf *body,
                                bool compressible, int flags);
/* The Allow header value of a route. */
const char *sb__route_allow(unsigned route);
/* True when the request's Accept-Encoding admits gzip. */
bool sb__request_accepts_gzip(struct MHD_Connection *c);

/* ----------------------------------------------------------- stream.c */

/*
 * Streams GET /metrics: res (ownership taken, also on failure) is
 * encoded with the incremental points encoder. When the whole body fits
 * the first chunk it is sent with a Content-Length; otherwise it is sent
 * chunked, encoded and (when accepted) compressed one chunk at a time as
 * the client reads, so at most about one chunk is buffered per request.
 */
enum MHD_Result sb__respond_points(struct MHD_Connection *c, sb_request *rq,
                                   sb_result *res, bool vary_accept);
/* The same in the Prometheus text format (prom_text.h). vary_accept adds
 * Vary: Accept (the format was negotiated from the Accept header). */
enum MHD_Result sb__respond_prom(struct MHD_Connection *c, sb_request *rq,
                                 sb_result *res, bool vary_accept);

/* For routes that take no parameters (POST /metrics, GET /api/v1/status):
 * true when the query string holds none; otherwise queues a 400 naming
 * the first key (500 when out of memory) and returns false with *ret set
 * (router.c). */
bool sb__no_params_ok(struct MHD_Connection *c, sb_request *rq,
                      enum MHD_Result *ret);

/* -------------------------------------------------------- dashboard.c */

/* GET / and GET /assets/<name>: the embedded file, 304 on a matching
 * If-None-Match, 404 JSON for an unknown name (see dashboard.h). */
enum MHD_Result sb__respond_asset(struct MHD_Connection *c, sb_request *rq);
/* GET /api/v1/status: {"version", "time", "start_time",
 * "retention_seconds", "interval_seconds", "max_query_points"}. */
enum MHD_Result sb__respond_status(struct MHD_Connection *c, sb_request *rq);

/* ------------------------------------------------------------- gzip.c */

/* A gzip (RFC 1952) compressor writing into an sb_buf. */
typedef struct sb_gzip {
    z_stream zs;
    bool live;
} sb_gzip;

int sb__gzip_init(sb_gzip *g);
/* Compresses in[0..n) and appends the output to out; finish ends the
 * stream (trailer included). 0, SB_ENOMEM, SB_ETOOLARGE or SB_EINVAL. */
int sb__gzip_write(sb_gzip *g, const void *in, size_t n, bool finish,
                   sb_buf *out);
void sb__gzip_end(sb_gzip *g);
/* One-shot: the gzip of in[0..n) appended to out. */
int sb__gzip_all(const void *in, size_t n, sb_buf *out);

/* ------------------------------------------------------------- util.c */

/* Longest host part sb__listen_parse() accepts, in bytes. */
#define SB_LISTEN_HOST_MAX 255

/*
 * Splits a listen address "HOST:PORT" or "[IPV6]:PORT" into host (size
 * hostlen, > SB_LISTEN_HOST_MAX) and port. PORT is 1 to 5 decimal digits
 * up to 65535; HOST is non-empty, at most SB_LISTEN_HOST_MAX bytes of
 * printable ASCII without spaces; an IPv6 literal must be bracketed.
 * *bracketed says whether it was. SB_EADDR with *reason set on failure.
 */
int sb__listen_parse(const char *s, char *host, size_t hostlen, uint16_t *port,
                     bool *bracketed, const char **reason);

/* True when an Accept-Encoding header value (NULL = absent) admits gzip:
 * "gzip" or "x-gzip" with q > 0, or no gzip entry and "*" with q > 0. */
bool sb__accepts_gzip(const char *header);

/* The Access-Control-Allow-Origin value for origin under the configured
 * origins: "*" when "*" is configured, origin itself when it is listed
 * exactly, NULL otherwise (also for a NULL or empty origin). */
const char *sb__cors_allow_origin(const char *const *origins, size_t n,
                                  const char *origin);

/* True when every name in an Access-Control-Request-Headers value is one
 * the API allows cross-origin (Content-Type, Accept, Accept-Encoding;
 * case-insensitive). NULL or empty is allowed. */
bool sb__cors_headers_ok(const char *requested);

/* Body formats of GET /metrics. */
enum sb_format { SB_FORMAT_JSON, SB_FORMAT_PROM };

/* The format an Accept header value (NULL = absent) prefers: the
 * Prometheus text format when text/plain or application/openmetrics-text
 * has a higher q-value than application/json (each taken from its most
 * specific matching media range, q=1 by default), JSON otherwise, also
 * on ties, an absent or unparseable header. */
int sb__negotiate_format(const char *accept);

/* True when the comma-separated Content-Encoding value means identity. */
bool sb__identity_encoding(const char *value);

#endif
