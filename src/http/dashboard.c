/*
 * dashboard.c - GET / and GET /assets/<name> (the embedded dashboard),
 * GET /api/v1/status (what the page needs to know about the server).
 *
 * Assets are static arrays; a response points into them (no copy) unless
 * it is compressed, in which case the gzip is made for that response by
 * the same one-shot compressor the JSON bodies use. Revalidation with
 * If-None-Match is answered with 304 and no body, so a reload of an open
 * dashboard costs a few hundred bytes.
 */
#include "http/dashboard.h"

#include "encode/json.h"
#include "http/internal.h"
#include "http/params.h"
#include "store/info.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The page loads only its own files; uPlot sets inline styles. */
#define PAGE_CSP                                                               \
    "default-src 'self'; style-src 'self' 'unsafe-inline'; "                   \
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "       \
    "base-uri 'none'; form-action 'self'"

const sb_asset *sb__asset_lookup(const char *path, size_t len)
{
    size_t plen = strlen(SB_ASSETS_PREFIX);
    const char *name;
    size_t nlen;

    if (len == 1 && path[0] == '/') {
        name = "";
        nlen = 0;
    } else if (len > plen && memcmp(path, SB_ASSETS_PREFIX, plen) == 0) {
        name = path + plen;
        nlen = len - plen;
    } else {
        return NULL;
    }
    for (size_t i = 0; i < sb__nassets; i++) {
        const sb_asset *a = &sb__assets[i];

        if (strlen(a->name) == nlen && memcmp(a->name, name, nlen) == 0)
            return a;
    }
    return NULL;
}

/* True when an If-None-Match value (a list of entity tags, weak or
 * strong, or "*") names etag. Comparison is weak, as RFC 9110 asks for
 * If-None-Match. */
static bool etag_matches(const char *header, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = header;

    while (p != NULL && *p != '\0') {
        const char *end;
        size_t n;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        end = strchr(p, ',');
        n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 1 && p[0] == '*')
            return true;
        if (n > 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
            n -= 2;
        }
        if (n == elen && memcmp(p, etag, n) == 0)
            return true;
        p = end;
    }
    return false;
}

static bool is_text(const sb_asset *a)
{
    return strncmp(a->content_type, "text/", 5) == 0;
}

/* The body of a 200: the asset itself, or its gzip when the client takes
 * it and it is worth compressing (*gzip then set). */
static struct MHD_Response *asset_body(struct MHD_Connection *c, sb_request *rq,
                                       const sb_asset *a, bool *gzip)
{
    struct MHD_Response *r;
    sb_buf z;
    size_t len = 0;
    char *data;

    *gzip = false;
    rq->bytes = a->size;
    if (!is_text(a) || a->size < SB_GZIP_MIN || !sb__request_accepts_gzip(c))
        return MHD_create_response_from_buffer(
            a->size, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
    sb__buf_init(&z, SIZE_MAX);
    if (sb__gzip_all(a->data, a->size, &z) < 0) {
        sb__buf_free(&z); /* send it uncompressed instead */
        return MHD_create_response_from_buffer(
            a->size, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
    }
    data = sb__buf_steal(&z, &len);
    r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(data);
        return NULL;
    }
    *gzip = true;
    rq->bytes = len;
    return r;
}

static bool add_asset_headers(struct MHD_Response *r, const sb_asset *a)
{
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag) != MHD_YES)
        return false;
    if (a->name[0] != '\0')
        return true;
    return MHD_add_response_header(r, "Content-Security-Policy", PAGE_CSP) ==
               MHD_YES &&
           MHD_add_response_header(r, "X-Frame-Options", "DENY") == MHD_YES &&
           MHD_add_response_header(r, "Referrer-Policy", "no-referrer") ==
               MHD_YES;
}

enum MHD_Result sb__respond_asset(struct MHD_Connection *c, sb_request *rq)
{
    const sb_asset *a = sb__asset_lookup(rq->uri, rq->path_len);
    const char *inm;
    struct MHD_Response *r;
    int flags = SB_RESP_REVALIDATE | SB_RESP_VARY_AE;
    bool gzip = false;
    unsigned status = MHD_HTTP_OK;

    if (a == NULL)
        return sb__respond_error(c, rq, MHD_HTTP_NOT_FOUND, "no such asset",
                                 -1);
    inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm != NULL && etag_matches(inm, a->etag)) {
        status = MHD_HTTP_NOT_MODIFIED;
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        r = asset_body(c, rq, a, &gzip);
    }
    if (r == NULL)
        return MHD_NO;
    if (gzip)
        flags |= SB_RESP_GZIP;
    if (!add_asset_headers(r, a) ||
        (status == MHD_HTTP_OK &&
         MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                 a->content_type) != MHD_YES)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return sb__respond(c, rq, status, r, flags);
}

static double seconds(int64_t ns)
{
    return (double)ns / 1e9;
}

enum MHD_Result sb__respond_status(struct MHD_Connection *c, sb_request *rq)
{
    const sb_server *srv = rq->srv;
    enum MHD_Result ret;
    sb_buf body;
    sb_jw w;

    if (!sb__no_params_ok(c, rq, &ret))
        return ret;
    sb__buf_init(&body, SIZE_MAX);
    sb__jw_init(&w, &body);
    sb__jw_object_begin(&w);
    sb__jw_key(&w, "version");
    sb__jw_string(&w, sb_version());
    sb__jw_key(&w, "time");
    sb__jw_double(&w, seconds(sb_time_now()));
    sb__jw_key(&w, "start_time");
    sb__jw_double(&w, seconds(srv->started_ns));
    sb__jw_key(&w, "retention_seconds");
    sb__jw_double(&w, seconds(sb__store_retention_ns(srv->store)));
    sb__jw_key(&w, "interval_seconds");
    sb__jw_double(&w, seconds(srv->interval_ns));
    sb__jw_key(&w, "max_query_points");
    sb__jw_uint(&w, srv->max_query_points);
    sb__jw_object_end(&w);
    if (sb__jw_error(&w) < 0) {
        sb__buf_free(&body);
        return sb__respond_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "out of memory", -1);
    }
    return sb__respond_json(c, rq, MHD_HTTP_OK, &body, false);
}
