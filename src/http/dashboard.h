/*
 * dashboard.h - the dashboard's routes: the page and its assets (compiled
 * into the binary) and the small status document the page reads.
 *
 *   GET|HEAD /                 the page (web/index.html)
 *   GET|HEAD /assets/<name>    its scripts and style sheets
 *   GET|HEAD /api/v1/status    version, retention, collector interval
 *
 * The assets are generated at build time (cmake/embed_assets.cmake) into
 * a table of immutable byte arrays, so serving one takes no lock and no
 * file access. Each has a strong ETag; a request whose If-None-Match
 * names it gets 304. Responses say Cache-Control: no-cache (the browser
 * keeps them but revalidates, so a new binary's page is never stale).
 */
#ifndef SB_HTTP_DASHBOARD_H
#define SB_HTTP_DASHBOARD_H

#include <stddef.h>

/* One embedded file. name is the part after /assets/ ("" for the page). */
typedef struct sb_asset {
    const char *name;
    const char *content_type;
    const unsigned char *data;
    size_t size;
    const char *etag; /* quoted, as sent in the ETag header */
} sb_asset;

/* The generated table (<build>/generated/web_assets.c). */
extern const sb_asset sb__assets[];
extern const size_t sb__nassets;

/* The asset a raw request path names: "/" is the page, "/assets/NAME"
 * the asset NAME (exact, no decoding). NULL when there is none. */
const sb_asset *sb__asset_lookup(const char *path, size_t len);

/* Route prefix of the assets; every path under it shares one route (and
 * so one request-metrics label). */
#define SB_ASSETS_PREFIX "/assets/"

#endif
