/*
 * gzip.c - gzip (RFC 1952) compression into an sb_buf with zlib.
 *
 * deflateInit2 with windowBits 15 + 16 makes zlib write the gzip header
 * and CRC trailer itself. Compression state costs about 256 KiB per live
 * stream (window plus hash chains at memLevel 8); the caller ends it with
 * sb__gzip_end() on every path. The output buffer keeps the sb_buf
 * invariant (data[len] is NUL) after every call.
 */
#include "http/internal.h"

#include <limits.h>
#include <string.h>

/* Room requested from the output buffer before each deflate() call. */
#define GZ_OUT_STEP (16 * 1024)
/* zlib counts input in uInt; feed larger inputs in slices. */
#define GZ_IN_SLICE ((size_t)1 << 30)

int sb__gzip_init(sb_gzip *g)
{
    int rc;

    memset(g, 0, sizeof *g);
    rc = deflateInit2(&g->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                      Z_DEFAULT_STRATEGY);
    if (rc == Z_MEM_ERROR)
        return SB_ENOMEM;
    if (rc != Z_OK)
        return SB_EINVAL;
    g->live = true;
    return 0;
}

/* Runs deflate() on the current input until it is consumed (and, with
 * Z_FINISH, until the stream ends), growing out as needed. */
static int gzip_drain(sb_gzip *g, int flush, sb_buf *out)
{
    for (;;) {
        int rc = sb__buf_reserve(out, GZ_OUT_STEP);
        size_t room, produced;

        if (rc < 0)
            return rc;
        room = out->cap - out->len - 1; /* keep the NUL terminator */
        if (room > UINT_MAX)
            room = UINT_MAX;
        g->zs.next_out = (Bytef *)out->data + out->len;
        g->zs.avail_out = (uInt)room;

        rc = deflate(&g->zs, flush);
        produced = room - g->zs.avail_out;
        out->len += produced;
        out->data[out->len] = '\0';
        if (rc == Z_STREAM_ERROR)
            return SB_EINVAL;
        if (rc == Z_STREAM_END)
            return 0;
        if (g->zs.avail_out != 0 && flush != Z_FINISH)
            return 0; /* all input consumed */
        if (rc == Z_BUF_ERROR && produced == 0)
            return SB_EINVAL; /* no progress possible */
    }
}

int sb__gzip_write(sb_gzip *g, const void *in, size_t n, bool finish,
                   sb_buf *out)
{
    const unsigned char *p = in; /* may be NULL when n is 0 */
    size_t off = 0;

    if (!g->live)
        return SB_EINVAL;
    do {
        size_t take = n - off < GZ_IN_SLICE ? n - off : GZ_IN_SLICE;
        int flush = (finish && off + take == n) ? Z_FINISH : Z_NO_FLUSH;
        int rc;

        g->zs.next_in = take > 0 ? p + off : NULL;
        g->zs.avail_in = (uInt)take;
        rc = gzip_drain(g, flush, out);
        if (rc < 0)
            return rc;
        off += take;
    } while (off < n);
    return 0;
}

void sb__gzip_end(sb_gzip *g)
{
    if (g->live)
        deflateEnd(&g->zs);
    g->live = false;
}

int sb__gzip_all(const void *in, size_t n, sb_buf *out)
{
    sb_gzip g;
    int rc = sb__gzip_init(&g);

    if (rc < 0)
        return rc;
    rc = sb__gzip_write(&g, in, n, true, out);
    sb__gzip_end(&g);
    return rc;
}
