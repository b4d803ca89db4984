/*
 * router.c - the route table and the request handlers of HTTP API v1.
 *
 *   GET|HEAD /metrics          points, streamed (stream.c)
 *   POST     /metrics          ingest one point or an array of them
 *   GET|HEAD /api/v1/series    series list
 *   GET|HEAD /healthz          liveness
 *   GET|HEAD /api/v1/query     bucketed range query (query_route.c)
 *   GET|HEAD /, /assets/NAME the dashboard (dashboard.c)
 *   GET|HEAD /api/v1/status    what the dashboard needs (dashboard.c)
 *   OPTIONS  any of the above  Allow (+ CORS preflight)
 *
 * Paths match the raw request path exactly (no decoding, no trailing
 * slash folding); the query string never takes part. Every request but a
 * POST upload is answered on the access handler's first call. A POST
 * body arrives in pieces and is accumulated into rq->body, capped at
 * max_body; the answer is queued on the final call (upload size 0).
 */
#include "http/internal.h"

#include "encode/points_json.h"
#include "http/dashboard.h"
#include "http/params.h"
#include "ingest/points_parse.h"
#include "store/match.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const sb__route_names[SB_ROUTE_COUNT] = {
    "/metrics", "/api/v1/series", "/healthz",       "/api/v1/query",
    "/",        "/assets/",       "/api/v1/status", "unmatched"};

const char *const sb__method_names[SB_METHOD_COUNT] = {"GET", "HEAD", "POST",
                                                       "OPTIONS", "OTHER"};

/* Upload bytes a client may push past max_body (or send to a route that
 * takes no body) before the connection is cut instead of answered: MHD
 * 0.9.75 cannot queue a response in the middle of an upload, so a 413
 * for a chunked body goes out only once the whole body has been read. */
#define DISCARD_MAX ((uint64_t)16 << 20)

unsigned sb__route_lookup(const char *path, size_t len)
{
    size_t plen = strlen(SB_ASSETS_PREFIX);

    if (len > plen && memcmp(path, SB_ASSETS_PREFIX, plen) == 0)
        return SB_ROUTE_ASSETS;
    for (unsigned i = 0; i < SB_ROUTE_UNMATCHED; i++) {
        const char *name = sb__route_names[i];

        if (strlen(name) == len && memcmp(name, path, len) == 0)
            return i;
    }
    return SB_ROUTE_UNMATCHED;
}

unsigned sb__method_lookup(const char *method)
{
    if (method == NULL)
        return SB_METHOD_OTHER;
    for (unsigned i = 0; i < SB_METHOD_OTHER; i++) {
        if (strcmp(sb__method_names[i], method) == 0)
            return i;
    }
    return SB_METHOD_OTHER;
}

static enum MHD_Result internal_error(struct MHD_Connection *c, sb_request *rq,
                                      int rc)
{
    return sb__respond_error(
        c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
        rc == SB_ENOMEM ? "out of memory" : "internal error", -1);
}

/* Parses the query of a GET route; on failure queues the 400/500 and
 * returns false with *ret set. */
static bool parse_query(struct MHD_Connection *c, sb_request *rq, int route,
                        sb_metrics_params *p, enum MHD_Result *ret)
{
    char err[256] = "";
    int rc = sb__metrics_params_parse(rq->query ? rq->query : "", rq->query_len,
                                      route, sb_time_now(), p, err, sizeof err);

    if (rc == 0)
        return true;
    if (rc == SB_ENOMEM)
        *ret = internal_error(c, rq, rc);
    else
        *ret = sb__respond_error(c, rq, MHD_HTTP_BAD_REQUEST,
                                 err[0] ? err : sb_strerror(rc), -1);
    return false;
}

/* The body format: the format parameter, else the Accept header. */
static int metrics_format(struct MHD_Connection *c, const sb_metrics_params *p)
{
    if (p->format == SB_PARAMS_FORMAT_PROMETHEUS)
        return SB_FORMAT_PROM;
    if (p->format == SB_PARAMS_FORMAT_JSON)
        return SB_FORMAT_JSON;
    return sb__negotiate_format(MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
}

/* The Prometheus format shows the latest point of each series: limit
 * and latest=false contradict it and are refused; name, since and until
 * select as usual. */
static bool prom_query_ok(struct MHD_Connection *c, sb_request *rq,
                          sb_metrics_params *p, enum MHD_Result *ret)
{
    const char *msg = NULL;

    if (p->query.limit != 0)
        msg = "limit does not apply to the Prometheus format (it shows the "
              "latest point of each series)";
    else if (p->latest_given && !p->query.latest)
        msg = "latest=false does not apply to the Prometheus format (it "
              "shows the latest point of each series)";
    if (msg != NULL) {
        *ret = sb__respond_error(c, rq, MHD_HTTP_BAD_REQUEST, msg, -1);
        return false;
    }
    p->query.latest = true;
    return true;
}

/* The 503 of an answer that does not fit the server's answer budget. */
static enum MHD_Result busy_answers(struct MHD_Connection *c, sb_request *rq)
{
    return sb__respond_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "too many large answers are being sent at "
                             "once; retry later",
                             -1);
}

static enum MHD_Result get_metrics(struct MHD_Connection *c, sb_request *rq)
{
    sb_server *srv = rq->srv;
    sb_metrics_params p;
    sb_result *res = NULL;
    enum MHD_Result ret;
    char msg[200];
    bool vary;
    int rc, fmt;

    if (!parse_query(c, rq, SB_PARAMS_METRICS, &p, &ret))
        return ret;
    fmt = metrics_format(c, &p);
    if (fmt == SB_FORMAT_PROM && !prom_query_ok(c, rq, &p, &ret)) {
        sb__metrics_params_free(&p);
        return ret;
    }
    p.query.max_points = srv->max_query_points;
    rc = sb__store_query_matched(srv->store, &p.query, &p.match.ms, &res);
    vary = p.format == SB_PARAMS_FORMAT_ANY;
    sb__metrics_params_free(&p);
    if (rc == SB_ETOOLARGE) {
        snprintf(msg, sizeof msg,
                 "the result exceeds %zu points; narrow the query with "
                 "name, match, since, until, limit or latest",
                 srv->max_query_points);
        return sb__respond_error(c, rq, MHD_HTTP_BAD_REQUEST, msg, -1);
    }
    if (rc < 0)
        return internal_error(c, rq, rc);
    if (!sb__answer_take(rq, sb__result_cost(res))) {
        sb_result_free(res);
        return busy_answers(c, rq);
    }
    if (fmt == SB_FORMAT_PROM)
        return sb__respond_prom(c, rq, res, vary);
    return sb__respond_points(c, rq, res, vary);
}

static enum MHD_Result get_series(struct MHD_Connection *c, sb_request *rq)
{
    sb_metrics_params p;
    sb_result *res = NULL;
    enum MHD_Result ret;
    sb_buf body;
    int rc;

    if (!parse_query(c, rq, SB_PARAMS_SERIES, &p, &ret))
        return ret;
    p.query.series_only = true;
    rc = sb__store_query_matched(rq->srv->store, &p.query, &p.match.ms, &res);
    sb__metrics_params_free(&p);
    if (rc < 0)
        return internal_error(c, rq, rc);

    sb__buf_init(&body, SIZE_MAX);
    rc = sb__series_json(res, &body);
    sb_result_free(res);
    if (rc < 0) {
        sb__buf_free(&body);
        return internal_error(c, rq, rc);
    }
    if (!sb__answer_take(rq, body.len)) {
        sb__buf_free(&body);
        return busy_answers(c, rq);
    }
    return sb__respond_json(c, rq, MHD_HTTP_OK, &body, true);
}

static enum MHD_Result get_healthz(struct MHD_Connection *c, sb_request *rq)
{
    sb_buf body;

    sb__buf_init(&body, SIZE_MAX);
    if (sb__buf_append_str(&body, "{\"status\":\"ok\"}") < 0) {
        sb__buf_free(&body);
        return internal_error(c, rq, SB_ENOMEM);
    }
    return sb__respond_json(c, rq, MHD_HTTP_OK, &body, false);
}

bool sb__no_params_ok(struct MHD_Connection *c, sb_request *rq,
                      enum MHD_Result *ret)
{
    sb_params p = {0};
    char err[256] = "";
    int rc;

    if (rq->query == NULL || rq->query_len == 0)
        return true;
    rc = sb__params_parse(rq->query, rq->query_len, &p, err, sizeof err);
    if (rc == 0 && p.n == 0) {
        sb__params_free(&p);
        return true;
    }
    if (rc == 0)
        snprintf(err, sizeof err, "unknown parameter '%.64s'", p.items[0].key);
    sb__params_free(&p);
    if (rc == SB_ENOMEM)
        *ret = internal_error(c, rq, rc);
    else
        *ret = sb__respond_error(c, rq, MHD_HTTP_BAD_REQUEST,
                                 err[0] ? err : sb_strerror(rc), -1);
    return false;
}

/* Content-Length as a strict decimal; false when absent or malformed
 * (MHD has already refused a malformed one). */
static bool content_length(struct MHD_Connection *c, uint64_t *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    unsigned long long n;

    if (v == NULL || *v < '0' || *v > '9')
        return false;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        return false;
    *out = n;
    return true;
}

static enum MHD_Result too_large(struct MHD_Connection *c, sb_request *rq)
{
    char msg[120];

    snprintf(msg, sizeof msg, "the body exceeds %zu bytes", rq->srv->max_body);
    return sb__respond_error(c, rq, MHD_HTTP_CONTENT_TOO_LARGE, msg, -1);
}

/* The headers of POST /metrics: refusals that need no body. */
static enum MHD_Result post_begin(struct MHD_Connection *c, sb_request *rq)
{
    const char *enc = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    enum MHD_Result ret;
    uint64_t len;

    if (!sb__no_params_ok(c, rq, &ret))
        return ret;
    if (!sb__identity_encoding(enc))
        return sb__respond_error(c, rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "unsupported Content-Encoding; send the "
                                 "body uncompressed",
                                 -1);
    if (content_length(c, &len) && len > rq->srv->max_body)
        return too_large(c, rq);
    sb__buf_init(&rq->body, rq->srv->max_body);
    return MHD_YES;
}

/* Drops the body received so far and gives back its share of the
 * server's body budget. */
static void body_drop(sb_request *rq)
{
    atomic_fetch_sub(&rq->srv->body_bytes, rq->body_counted);
    rq->body_counted = 0;
    sb__buf_free(&rq->body);
}

static enum MHD_Result busy(struct MHD_Connection *c, sb_request *rq)
{
    return sb__respond_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "too many request bodies are being received "
                             "at once; retry later",
                             -1);
}

/* Parses and stores the complete body. */
static enum MHD_Result post_finish(struct MHD_Connection *c, sb_request *rq)
{
    sb_parsed_batch batch = {0};
    sb_parse_error perr = {.index = -1};
    sb_write_error werr = {0};
    enum MHD_Result ret;
    int rc;

    rc = sb__parse_points(rq->body.data ? rq->body.data : "", rq->body.len,
                          sb_time_now(), &batch, &perr);
    if (rc == SB_ENOMEM) {
        ret = internal_error(c, rq, rc);
        goto out;
    }
    if (rc < 0) {
        ret = sb__respond_error(
            c, rq, MHD_HTTP_BAD_REQUEST,
            perr.message[0] ? perr.message : sb_strerror(rc), perr.index);
        goto out;
    }

    rc = sb_store_write_batch(rq->srv->store, batch.samples, batch.n, &werr);
    if (rc == SB_ENOMEM) {
        ret = internal_error(c, rq, rc);
    } else if (rc < 0) {
        ret = sb__respond_error(
            c, rq, MHD_HTTP_BAD_REQUEST,
            werr.reason ? werr.reason : sb_strerror(rc),
            werr.index > (size_t)LONG_MAX ? LONG_MAX : (long)werr.index);
    } else {
        ret = sb__respond(
            c, rq, MHD_HTTP_NO_CONTENT,
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
            0);
    }
out:
    sb__parsed_batch_free(&batch);
    body_drop(rq);
    return ret;
}

/* Drops upload bytes nobody will read, up to DISCARD_MAX in all. */
static enum MHD_Result discard(sb_request *rq, size_t *size)
{
    rq->discarded += *size;
    *size = 0;
    return rq->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
}

/* Appends one piece to the body within max_body and the server's body
 * budget; on refusal drops the body and notes why. */
static int body_append(sb_request *rq, const char *data, size_t size)
{
    sb_server *srv = rq->srv;
    int rc = sb__buf_append(&rq->body, data, size);

    if (rc == 0) {
        rq->body_counted += size;
        if (atomic_fetch_add(&srv->body_bytes, size) + size > srv->body_budget)
            rc = SB_ELIMIT;
    }
    if (rc == SB_ELIMIT)
        rq->body_busy = true;
    else if (rc == SB_ETOOLARGE)
        rq->body_too_large = true;
    if (rc != 0)
        body_drop(rq);
    return rc;
}

/*
 * One piece of a POST body (or, with *size 0, its end). Past max_body,
 * or when the bodies being received on all connections reach the
 * server's budget, the body is dropped and the 413 or 503 queued at once
 * when MHD allows it, else at the end; a client pushing far past that
 * is cut off instead of read to the end.
 */
static enum MHD_Result post_body(struct MHD_Connection *c, sb_request *rq,
                                 const char *data, size_t *size)
{
    if (*size == 0) {
        if (rq->body_busy)
            return busy(c, rq);
        return rq->body_too_large ? too_large(c, rq) : post_finish(c, rq);
    }
    if (!rq->body_too_large && !rq->body_busy) {
        int rc = body_append(rq, data, *size);

        if (rc == 0) {
            *size = 0;
            return MHD_YES;
        }
        if (rc != SB_ETOOLARGE && rc != SB_ELIMIT)
            return MHD_NO; /* out of memory: drop the connection */
        /* Newer MHD versions take a response mid-upload; 0.9.75 refuses
         * it and the answer goes out at the end of the body. */
        (void)(rq->body_busy ? busy(c, rq) : too_large(c, rq));
    }
    if (discard(rq, size) == MHD_YES)
        return MHD_YES;
    /* for the log and metrics */
    rq->status = rq->body_busy ? MHD_HTTP_SERVICE_UNAVAILABLE
                               : MHD_HTTP_CONTENT_TOO_LARGE;
    return MHD_NO;
}

/* Answers a request whose headers (and any body) have been read. */
static enum MHD_Result dispatch(struct MHD_Connection *c, sb_request *rq)
{
    if (rq->route == SB_ROUTE_UNMATCHED)
        return sb__respond_error(c, rq, MHD_HTTP_NOT_FOUND, "no such path", -1);
    switch (rq->method) {
    case SB_METHOD_OPTIONS:
        return sb__respond_options(c, rq);
    case SB_METHOD_GET:
    case SB_METHOD_HEAD:
        if (rq->route == SB_ROUTE_METRICS)
            return get_metrics(c, rq);
        if (rq->route == SB_ROUTE_SERIES)
            return get_series(c, rq);
        if (rq->route == SB_ROUTE_QUERY)
            return sb__get_query(c, rq);
        if (rq->route == SB_ROUTE_UI || rq->route == SB_ROUTE_ASSETS)
            return sb__respond_asset(c, rq);
        if (rq->route == SB_ROUTE_STATUS)
            return sb__respond_status(c, rq);
        return get_healthz(c, rq);
    default:
        return sb__respond_405(c, rq);
    }
}

/* Counts the headers that frame a body: [0] Content-Length, [1]
 * Transfer-Encoding, [2] Transfer-Encoding other than plain chunked. */
static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    unsigned *n = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        n[0]++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        n[1]++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            n[2]++;
    }
    return MHD_YES;
}

/* Why the body's end is ambiguous, or NULL. MHD reads the first
 * Content-Length or Transfer-Encoding, a proxy in front may read another
 * (request smuggling); and MHD reads a body of any coding but chunked
 * until the client closes the connection. */
static const char *framing_problem(struct MHD_Connection *c)
{
    unsigned n[3] = {0, 0, 0};

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, n);
    if (n[0] > 1 || n[1] > 1 || (n[0] > 0 && n[1] > 0))
        return "ambiguous body length: more than one Content-Length or "
               "Transfer-Encoding, or both";
    if (n[2] > 0)
        return "unsupported Transfer-Encoding: only chunked is accepted";
    return NULL;
}

/*
 * The first call sees only the headers. MHD 0.9.75 closes the connection
 * after any response queued this early (it cannot know the body is
 * empty), so only refusals that must not read the body (an ambiguous
 * body length on any route; for POST 415, 413 by Content-Length, bad
 * query) are answered here; everything else is answered on the final
 * call and keeps the connection alive.
 */
static enum MHD_Result first_call(struct MHD_Connection *c, sb_request *rq,
                                  const char *method)
{
    const char *framing;

    rq->started = true;
    rq->method = sb__method_lookup(method);
    snprintf(rq->method_text, sizeof rq->method_text, "%s",
             method ? method : "");
    if ((framing = framing_problem(c)) != NULL)
        return sb__respond_error(c, rq, MHD_HTTP_BAD_REQUEST, framing, -1);
    if (rq->method == SB_METHOD_POST && rq->route == SB_ROUTE_METRICS)
        return post_begin(c, rq);
    return MHD_YES;
}

enum MHD_Result sb__http_access(void *cls, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *version, const char *upload,
                                size_t *upload_size, void **req_cls)
{
    sb_request *rq = *req_cls;

    (void)cls;
    (void)url;
    (void)version;
    if (rq == NULL)
        return MHD_NO; /* the URI log callback could not allocate */
    if (!rq->started)
        return first_call(c, rq, method);
    if (rq->status != 0) /* answered already: drop what the client sends */
        return discard(rq, upload_size);
    if (rq->method == SB_METHOD_POST && rq->route == SB_ROUTE_METRICS)
        return post_body(c, rq, upload, upload_size);
    if (*upload_size != 0) /* a body on GET, OPTIONS, ...: ignored */
        return discard(rq, upload_size);
    return dispatch(c, rq);
}
