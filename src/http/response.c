/*
 * response.c - building and queueing responses: JSON error bodies, the
 * headers every response carries, CORS, and the gzip decision for
 * complete bodies.
 *
 * Every response gets Cache-Control: no-store and
 * X-Content-Type-Options: nosniff. When CORS origins are configured,
 * every response also carries Vary: Origin (the answer depends on the
 * Origin header even when it does not match), and a matching Origin gets
 * Access-Control-Allow-Origin. Once the server is stopping, responses say
 * Connection: close so keep-alive clients go away.
 *
 * Error messages are JSON-escaped by the writer, so text derived from
 * the request (a parameter name in a parser message) cannot break the
 * body.
 */
#include "http/internal.h"

#include "encode/json.h"
#include "encode/prom_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORS_ALLOW_HEADERS "Content-Type, Accept, Accept-Encoding"
#define CORS_MAX_AGE       "600"

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

const char *sb__route_allow(unsigned route)
{
    return route == SB_ROUTE_METRICS ? "GET, HEAD, POST, OPTIONS"
                                     : "GET, HEAD, OPTIONS";
}

bool sb__request_accepts_gzip(struct MHD_Connection *c)
{
    return sb__accepts_gzip(header(c, MHD_HTTP_HEADER_ACCEPT_ENCODING));
}

/* The Access-Control-Allow-Origin value for this request, or NULL. */
static const char *cors_origin(struct MHD_Connection *c, const sb_server *srv)
{
    if (srv->ncors == 0)
        return NULL;
    return sb__cors_allow_origin((const char *const *)srv->cors, srv->ncors,
                                 header(c, MHD_HTTP_HEADER_ORIGIN));
}

static bool add(struct MHD_Response *r, const char *name, const char *value)
{
    return MHD_add_response_header(r, name, value) == MHD_YES;
}

static bool add_vary(struct MHD_Response *r, const sb_server *srv, int flags)
{
    char v[64];

    snprintf(v, sizeof v, "%s%s%s",
             (flags & SB_RESP_VARY_AE) ? ", Accept-Encoding" : "",
             (flags & SB_RESP_VARY_ACCEPT) ? ", Accept" : "",
             srv->ncors > 0 ? ", Origin" : "");
    return v[0] == '\0' || add(r, MHD_HTTP_HEADER_VARY, v + 2);
}

static bool add_common(struct MHD_Connection *c, const sb_request *rq,
                       struct MHD_Response *r, int flags)
{
    const sb_server *srv = rq->srv;
    const char *allow = NULL;
    bool ok = true;

    if (flags & SB_RESP_JSON)
        ok = ok && add(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (flags & SB_RESP_PROM)
        ok = ok && add(r, MHD_HTTP_HEADER_CONTENT_TYPE, SB_PROM_CONTENT_TYPE);
    if (flags & SB_RESP_GZIP)
        ok = ok && add(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    ok = ok && add(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                   (flags & SB_RESP_REVALIDATE) ? "no-cache" : "no-store");
    ok = ok && add(r, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
    ok = ok && add_vary(r, srv, flags);
    if (!(flags & SB_RESP_NO_CORS))
        allow = cors_origin(c, srv);
    if (allow != NULL)
        ok = ok && add(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    if (atomic_load(&rq->srv->stopping))
        ok = ok && add(r, MHD_HTTP_HEADER_CONNECTION, "close");
    return ok;
}

enum MHD_Result sb__respond(struct MHD_Connection *c, sb_request *rq,
                            unsigned status, struct MHD_Response *r, int flags)
{
    enum MHD_Result ret = MHD_NO;

    if (r == NULL)
        return MHD_NO;
    if (add_common(c, rq, r, flags))
        ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    if (ret == MHD_YES)
        rq->status = status;
    return ret;
}

/* A response owning body's storage (the buffer is left empty). */
static struct MHD_Response *from_buf(sb_buf *body)
{
    size_t len = 0;
    char *data = sb__buf_steal(body, &len);
    struct MHD_Response *r;

    if (data == NULL || len == 0) {
        free(data);
        return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        free(data);
    return r;
}

/* The body {"error": msg[, "index": index]}; a fixed body when even that
 * cannot be built. */
static struct MHD_Response *error_body(sb_request *rq, const char *msg,
                                       long index)
{
    static const char oom[] = "{\"error\":\"out of memory\"}";
    char fallback[sizeof oom];
    sb_buf b;
    sb_jw w;

    snprintf(rq->error, sizeof rq->error, "%s", msg);
    sb__buf_init(&b, SIZE_MAX);
    sb__jw_init(&w, &b);
    sb__jw_object_begin(&w);
    sb__jw_key(&w, "error");
    sb__jw_string(&w, msg);
    if (index >= 0) {
        sb__jw_key(&w, "index");
        sb__jw_int(&w, index);
    }
    sb__jw_object_end(&w);
    if (sb__jw_error(&w) == 0) {
        rq->bytes = b.len;
        return from_buf(&b);
    }
    sb__buf_free(&b);
    memcpy(fallback, oom, sizeof oom);
    rq->bytes = sizeof oom - 1;
    return MHD_create_response_from_buffer(sizeof oom - 1, fallback,
                                           MHD_RESPMEM_MUST_COPY);
}

enum MHD_Result sb__respond_error(struct MHD_Connection *c, sb_request *rq,
                                  unsigned status, const char *msg, long index)
{
    return sb__respond(c, rq, status, error_body(rq, msg, index), SB_RESP_JSON);
}

enum MHD_Result sb__respond_405(struct MHD_Connection *c, sb_request *rq)
{
    struct MHD_Response *r = error_body(rq, "method not allowed", -1);

    if (r != NULL &&
        !add(r, MHD_HTTP_HEADER_ALLOW, sb__route_allow(rq->route))) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return sb__respond(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, r, SB_RESP_JSON);
}

/* True when method (from Access-Control-Request-Method) may be used on
 * the route cross-origin. */
static bool preflight_method_ok(unsigned route, const char *method)
{
    unsigned m = sb__method_lookup(method);

    if (m == SB_METHOD_GET || m == SB_METHOD_HEAD)
        return true;
    return m == SB_METHOD_POST && route == SB_ROUTE_METRICS;
}

/*
 * Adds the preflight answer when the request is a CORS preflight from an
 * allowed origin asking for an allowed method and headers. A refused
 * preflight gets no CORS headers at all (*flags gains SB_RESP_NO_CORS),
 * so the browser blocks the real request.
 */
static bool add_preflight(struct MHD_Connection *c, const sb_request *rq,
                          struct MHD_Response *r, int *flags)
{
    const char *method =
        header(c, MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_METHOD);
    const char *hdrs =
        header(c, MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_HEADERS);

    if (method == NULL || cors_origin(c, rq->srv) == NULL)
        return true; /* a plain OPTIONS request */
    if (!preflight_method_ok(rq->route, method) || !sb__cors_headers_ok(hdrs)) {
        *flags |= SB_RESP_NO_CORS;
        return true;
    }
    return add(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS,
               sb__route_allow(rq->route)) &&
           add(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS,
               CORS_ALLOW_HEADERS) &&
           add(r, MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, CORS_MAX_AGE);
}

enum MHD_Result sb__respond_options(struct MHD_Connection *c, sb_request *rq)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    int flags = 0;

    if (r == NULL)
        return MHD_NO;
    if (!add(r, MHD_HTTP_HEADER_ALLOW, sb__route_allow(rq->route)) ||
        !add_preflight(c, rq, r, &flags)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return sb__respond(c, rq, MHD_HTTP_NO_CONTENT, r, flags);
}

enum MHD_Result sb__respond_json(struct MHD_Connection *c, sb_request *rq,
                                 unsigned status, sb_buf *body,
                                 bool compressible)
{
    return sb__respond_buf(c, rq, status, body, compressible, SB_RESP_JSON);
}

enum MHD_Result sb__respond_buf(struct MHD_Connection *c, sb_request *rq,
                                unsigned status, sb_buf *body,
                                bool compressible, int flags)
{
    if (compressible) {
        flags |= SB_RESP_VARY_AE;
        if (body->len >= SB_GZIP_MIN && sb__request_accepts_gzip(c)) {
            sb_buf z;

            sb__buf_init(&z, SIZE_MAX);
            if (sb__gzip_all(body->data, body->len, &z) == 0) {
                sb__buf_free(body);
                *body = z;
                flags |= SB_RESP_GZIP;
            } else {
                sb__buf_free(&z); /* send it uncompressed instead */
            }
        }
    }
    rq->bytes = body->len;
    return sb__respond(c, rq, status, from_buf(body), flags);
}
