/*
 * stream.c - the GET /metrics body, encoded while the client reads.
 *
 * The handler copies a snapshot out of the store (sb_store_query) and
 * hands it here; no store lock is held from then on. The first chunk is
 * encoded at once: when it is the whole body, the body goes out as one
 * buffer with a Content-Length. Otherwise MHD pulls the rest through
 * stream_read(), which refills the output one chunk at a time:
 *
 *   result --points encoder--> plain --gzip (if accepted)--> out --> MHD
 *
 * so a slow reader costs one snapshot plus about one chunk of buffers,
 * and never blocks writers. The encoder is the JSON points encoder or
 * the Prometheus text one (prom set); both fill whole items up to a
 * target size. The stream is freed by MHD (stream_free)
 * when the response is destroyed, which may be after the request's
 * sb_request is gone; only stream_read(), which MHD calls while the
 * request is live, touches rq.
 */
#include "http/internal.h"

#include "encode/points_json.h"
#include "encode/prom_text.h"

#include <stdlib.h>
#include <string.h>

typedef struct sb_stream {
    sb_request *rq; /* valid only inside stream_read() */
    sb_result *res;
    sb_points_enc enc;
    sb_prom_enc penc; /* used instead of enc when prom is set */
    bool prom;
    int flags;     /* content type and Vary flags of the response */
    bool enc_live; /* enc initialised and not yet freed */
    bool enc_done; /* the encoder wrote the closing ']' */
    bool done;     /* nothing more will be appended to out */
    bool gzip;
    sb_gzip gz;
    sb_buf plain; /* encoder output not yet moved to out */
    sb_buf out;   /* bytes for the client; out_pos of them sent */
    size_t out_pos;
} sb_stream;

static void stream_release_result(sb_stream *st)
{
    if (st->enc_live && st->prom)
        sb__prom_enc_free(&st->penc);
    else if (st->enc_live)
        sb__points_enc_free(&st->enc);
    st->enc_live = false;
    sb_result_free(st->res);
    st->res = NULL;
}

static void stream_free(void *cls)
{
    sb_stream *st = cls;

    if (st == NULL)
        return;
    stream_release_result(st);
    sb__gzip_end(&st->gz);
    sb__buf_free(&st->plain);
    sb__buf_free(&st->out);
    free(st);
}

/* The next piece of the encoder's output: 1 more remains, 0 done. */
static int stream_fill(sb_stream *st, sb_buf *out)
{
    if (st->prom)
        return sb__prom_enc_fill(&st->penc, out, SB_STREAM_CHUNK);
    return sb__points_enc_fill(&st->enc, out, SB_STREAM_CHUNK);
}

/*
 * Replaces out's (fully sent) content with the next piece of the body.
 * The piece may be empty when deflate holds everything back; the caller
 * calls again until out has bytes or the stream is done.
 */
static int stream_refill(sb_stream *st)
{
    int rc;

    sb__buf_reset(&st->out);
    st->out_pos = 0;
    if (st->plain.len == 0 && !st->enc_done) {
        rc = stream_fill(st, &st->plain);
        if (rc < 0)
            return rc;
        st->enc_done = rc == 0;
    }
    if (st->enc_done)
        stream_release_result(st); /* the snapshot is no longer needed */

    if (st->gzip) {
        rc = sb__gzip_write(&st->gz, st->plain.data, st->plain.len,
                            st->enc_done, &st->out);
        sb__buf_reset(&st->plain);
        if (rc < 0)
            return rc;
    } else {
        sb_buf tmp = st->out;

        st->out = st->plain;
        st->plain = tmp;
    }
    st->done = st->enc_done;
    return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    sb_stream *st = cls;
    size_t n;

    while (st->out_pos == st->out.len) {
        if (st->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (stream_refill(st) < 0) {
            SB_LOG(&st->rq->srv->log, SB_LOG_ERROR,
                   "stream_failed error=encoding");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    n = st->out.len - st->out_pos;
    if (n > max)
        n = max;
    memcpy(buf, st->out.data + st->out_pos, n);
    st->out_pos += n;
    st->rq->bytes += n;
    return (ssize_t)n;
}

/* Queues the chunked response of a stream whose plain buffer holds the
 * first chunk. Takes ownership of st. */
static enum MHD_Result stream_start(struct MHD_Connection *c, sb_request *rq,
                                    sb_stream *st)
{
    struct MHD_Response *r;
    int flags = st->flags | SB_RESP_VARY_AE;

    st->rq = rq;
    if (sb__request_accepts_gzip(c)) {
        if (sb__gzip_init(&st->gz) < 0) {
            stream_free(st);
            return sb__respond_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                     "out of memory", -1);
        }
        st->gzip = true;
        flags |= SB_RESP_GZIP;
    }
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SB_STREAM_CHUNK,
                                          stream_read, st, stream_free);
    if (r == NULL) {
        stream_free(st);
        return MHD_NO;
    }
    /* MHD 0.9.75 sends the chunked body's terminator even for HEAD,
     * which the client would read as the start of the next response.
     * In HTTP/1.0-compatible mode the body is not chunked and the
     * connection closes after the headers. */
    if (rq->method == SB_METHOD_HEAD &&
        MHD_set_response_options(r, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT,
                                 MHD_RO_END) != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return sb__respond(c, rq, MHD_HTTP_OK, r, flags);
}

/* Encodes the first chunk of res (ownership taken) and queues the
 * response: whole with a length when it fits, else streamed. */
static enum MHD_Result respond_result(struct MHD_Connection *c, sb_request *rq,
                                      sb_result *res, bool prom, int flags)
{
    sb_stream *st = calloc(1, sizeof *st);
    int rc;

    if (st == NULL) {
        sb_result_free(res);
        return sb__respond_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "out of memory", -1);
    }
    st->res = res;
    st->prom = prom;
    st->flags = flags;
    sb__buf_init(&st->plain, SIZE_MAX);
    sb__buf_init(&st->out, SIZE_MAX);
    rc = prom ? sb__prom_enc_init(&st->penc, res)
              : sb__points_enc_init(&st->enc, res);
    st->enc_live = rc == 0;
    if (rc == 0)
        rc = stream_fill(st, &st->plain);
    if (rc < 0) {
        stream_free(st);
        return sb__respond_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "cannot encode the result", -1);
    }
    if (rc == 0) { /* the whole body is here: send it with a length */
        enum MHD_Result ret =
            sb__respond_buf(c, rq, MHD_HTTP_OK, &st->plain, true, flags);

        stream_free(st);
        return ret;
    }
    return stream_start(c, rq, st);
}

enum MHD_Result sb__respond_points(struct MHD_Connection *c, sb_request *rq,
                                   sb_result *res, bool vary_accept)
{
    return respond_result(c, rq, res, false,
                          SB_RESP_JSON |
                              (vary_accept ? SB_RESP_VARY_ACCEPT : 0));
}

enum MHD_Result sb__respond_prom(struct MHD_Connection *c, sb_request *rq,
                                 sb_result *res, bool vary_accept)
{
    return respond_result(c, rq, res, true,
                          SB_RESP_PROM |
                              (vary_accept ? SB_RESP_VARY_ACCEPT : 0));
}
