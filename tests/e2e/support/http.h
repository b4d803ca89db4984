/*
 * http.h - small libcurl helpers for the end-to-end tests.
 *
 * e2e_http() performs one request and collects the status, the raw
 * response header block (of the final response, without any 1xx
 * interim ones) and the body into NUL-terminated heap buffers. Every
 * request has a connect and a total timeout. Passing the same CURL handle
 * to several calls reuses its connection (keep-alive); the handle is
 * reset between calls so options never leak from one request to the next.
 */
#ifndef E2E_SUPPORT_HTTP_H
#define E2E_SUPPORT_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct e2e_req {
    const char *method;         /* "GET" when NULL */
    const char *url;            /* full URL */
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    const char *body;           /* sent when non-NULL (even if empty) */
    size_t body_len;
    bool decode_gzip;    /* CURLOPT_ACCEPT_ENCODING "gzip" */
    long timeout_ms;     /* whole request; default 10 s x slowdown */
    curl_off_t max_recv; /* bytes per second; 0 = unlimited */
    CURL *handle;        /* reuse this handle; NULL = a fresh one */
} e2e_req;

typedef struct e2e_resp {
    CURLcode curl_rc; /* CURLE_OK unless the transfer failed */
    long status;      /* HTTP status, 0 when none was received */
    long new_conns;   /* CURLINFO_NUM_CONNECTS: 0 when a connection was
                         reused */
    char *headers;    /* raw header block of the final response */
    char *body;       /* NUL-terminated (the body may hold NULs itself) */
    size_t body_len;
} e2e_resp;

/* Performs the request. Returns 0 when a response was received (any
 * status) and -1 on a transport failure (resp->curl_rc tells which). The
 * caller frees resp with e2e_resp_free() in both cases. */
int e2e_http(const e2e_req *req, e2e_resp *resp);
void e2e_resp_free(e2e_resp *resp);

/* Shorthands with a fresh handle. body may be NULL for no body. */
int e2e_get(const char *url, e2e_resp *resp);
int e2e_post(const char *url, const char *body, e2e_resp *resp);

/*
 * The value of the first response header called name (case-insensitive)
 * copied into out (size n), without surrounding blanks. Returns false
 * when there is no such header.
 */
bool e2e_resp_header(const e2e_resp *resp, const char *name, char *out,
                     size_t n);

/* The body parsed as JSON (integers read as reals), or NULL. json_decref
 * the result. */
json_t *e2e_resp_json(const e2e_resp *resp);

/* "http://127.0.0.1:PORT" + path_and_query, into out (size n). */
const char *e2e_url(char *out, size_t n, uint16_t port,
                    const char *path_and_query);

/* A growable string for building request bodies; zero-initialise. An
 * allocation failure aborts the test binary (abort()), which is fine in a
 * test and keeps call sites short. */
typedef struct e2e_buf {
    char *data;
    size_t len;
    size_t cap;
} e2e_buf;

void e2e_buf_printf(e2e_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void e2e_buf_free(e2e_buf *b);

/* Wall-clock nanoseconds since the Unix epoch. */
int64_t e2e_wall_ns(void);

/* Formats ns as "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" into out. */
#define E2E_TIME_MAX 96
const char *e2e_fmt_time(int64_t ns, char out[E2E_TIME_MAX]);

/* Parses the server's time format, "YYYY-MM-DDTHH:MM:SS[.1-9 digits]Z".
 * Returns false for anything else, e.g. an offset other than Z. */
bool e2e_parse_time(const char *s, int64_t *out_ns);

#endif
