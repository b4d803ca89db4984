/*
 * http.c - libcurl request helper (see http.h).
 *
 * Response bytes go into growable buffers capped at RESP_MAX; a response
 * above the cap fails the transfer (the write callback returns short)
 * rather than exhausting memory. The header callback restarts the header
 * buffer at every status line, so only the final response's headers are
 * kept after any "100 Continue".
 */
#include "http.h"

#include "proc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RESP_MAX (256u << 20)

typedef struct growbuf {
    char *data;
    size_t len;
    size_t cap;
} growbuf;

static bool grow_append(growbuf *b, const char *data, size_t n)
{
    size_t want;
    char *p;

    if (n > RESP_MAX - b->len)
        return false;
    if (b->len + n + 1 > b->cap) {
        want = b->cap ? b->cap : 1024;
        while (want < b->len + n + 1)
            want *= 2;
        p = realloc(b->data, want);
        if (p == NULL)
            return false;
        b->data = p;
        b->cap = want;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    return grow_append(ud, data, size * nmemb) ? size * nmemb : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    growbuf *b = ud;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
        b->len = 0; /* a new (final or interim) response starts */
    return grow_append(b, data, n) ? n : 0;
}

static struct curl_slist *make_headers(const char *const *lines)
{
    struct curl_slist *list = NULL, *next;

    for (size_t i = 0; lines != NULL && lines[i] != NULL; i++) {
        next = curl_slist_append(list, lines[i]);
        if (next == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = next;
    }
    return list;
}

static void set_options(CURL *h, const e2e_req *req, growbuf *body,
                        growbuf *hdrs, struct curl_slist *list)
{
    const char *method = req->method ? req->method : "GET";
    long timeout = req->timeout_ms ? req->timeout_ms : 10000L * e2e_slowdown();

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L * e2e_slowdown());
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, hdrs);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    if (req->decode_gzip)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
    if (req->max_recv > 0)
        curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, req->max_recv);
    if (req->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || req->body != NULL)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

int e2e_http(const e2e_req *req, e2e_resp *resp)
{
    CURL *h = req->handle ? req->handle : curl_easy_init();
    growbuf body = {0}, hdrs = {0};
    struct curl_slist *list = make_headers(req->headers);

    memset(resp, 0, sizeof(*resp));
    resp->curl_rc = CURLE_FAILED_INIT;
    if (h == NULL || (req->headers != NULL && list == NULL))
        goto out;
    curl_easy_reset(h); /* keeps the connection cache */
    set_options(h, req, &body, &hdrs, list);
    resp->curl_rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &resp->new_conns);

out:
    resp->body = body.data ? body.data : strdup("");
    resp->body_len = body.len;
    resp->headers = hdrs.data ? hdrs.data : strdup("");
    curl_slist_free_all(list);
    if (h != NULL && h != req->handle)
        curl_easy_cleanup(h);
    return resp->curl_rc == CURLE_OK ? 0 : -1;
}

void e2e_resp_free(e2e_resp *resp)
{
    free(resp->body);
    free(resp->headers);
    resp->body = NULL;
    resp->headers = NULL;
}

int e2e_get(const char *url, e2e_resp *resp)
{
    e2e_req req = {.url = url};

    return e2e_http(&req, resp);
}

int e2e_post(const char *url, const char *body, e2e_resp *resp)
{
    e2e_req req = {.method = "POST",
                   .url = url,
                   .body = body,
                   .body_len = body ? strlen(body) : 0};

    return e2e_http(&req, resp);
}

bool e2e_resp_header(const e2e_resp *resp, const char *name, char *out,
                     size_t n)
{
    size_t nlen = strlen(name), vlen;
    const char *line = resp->headers, *v, *eol;

    while (line != NULL && *line != '\0') {
        eol = strchr(line, '\n');
        if (eol == NULL)
            eol = line + strlen(line);
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            vlen = (size_t)(eol - v);
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            if (n > 0)
                snprintf(out, n, "%.*s", (int)vlen, v);
            return true;
        }
        line = *eol ? eol + 1 : eol;
    }
    return false;
}

json_t *e2e_resp_json(const e2e_resp *resp)
{
    json_error_t err;

    return json_loadb(resp->body, resp->body_len,
                      JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &err);
}

const char *e2e_url(char *out, size_t n, uint16_t port,
                    const char *path_and_query)
{
    snprintf(out, n, "http://127.0.0.1:%u%s", (unsigned)port, path_and_query);
    return out;
}

void e2e_buf_printf(e2e_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->data ? b->data + b->len : NULL,
                      b->data ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if (b->data != NULL && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap ? b->cap * 2 : 256) + (size_t)n + 1;
        b->data = realloc(b->data, b->cap);
        if (b->data == NULL)
            abort();
    }
}

void e2e_buf_free(e2e_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int64_t e2e_wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *e2e_fmt_time(int64_t ns, char out[E2E_TIME_MAX])
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, E2E_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
    return out;
}

/* Reads exactly n decimal digits. */
static bool read_digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static bool expect_char(const char **s, char c)
{
    if (**s != c)
        return false;
    (*s)++;
    return true;
}

bool e2e_parse_time(const char *s, int64_t *out_ns)
{
    struct tm tm = {0};
    int64_t frac = 0;
    int ndig = 0, d;

    if (!read_digits(&s, 4, &tm.tm_year) || !expect_char(&s, '-') ||
        !read_digits(&s, 2, &tm.tm_mon) || !expect_char(&s, '-') ||
        !read_digits(&s, 2, &tm.tm_mday) || !expect_char(&s, 'T') ||
        !read_digits(&s, 2, &tm.tm_hour) || !expect_char(&s, ':') ||
        !read_digits(&s, 2, &tm.tm_min) || !expect_char(&s, ':') ||
        !read_digits(&s, 2, &tm.tm_sec))
        return false;
    if (*s == '.') {
        s++;
        while (ndig < 9 && read_digits(&s, 1, &d)) {
            frac = frac * 10 + d;
            ndig++;
        }
        if (ndig == 0)
            return false;
        for (int i = ndig; i < 9; i++)
            frac *= 10;
    }
    if (strcmp(s, "Z") != 0)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out_ns = (int64_t)timegm(&tm) * 1000000000 + frac;
    return true;
}
