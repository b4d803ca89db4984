/*
 * push.c - `scoreboard push`: one point, POSTed as JSON to URL/metrics.
 *
 * The body is built with the library's JSON writer, so non-finite values
 * go out as the strings "NaN", "+Inf", "-Inf" that the server accepts.
 * The reply body is kept (up to RESP_MAX bytes, the rest is discarded) so
 * a refusal can be shown with the server's own message. The whole
 * exchange is bounded by a 10 s timeout.
 */
#include "cli/cli.h"

#include "encode/json.h"

#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#define RESP_MAX        (64 * 1024)
#define PUSH_TIMEOUT_MS 10000L
#define URL_MAX         4096

int sb__cli_push_body(const sb_cli_push *p, sb_buf *out)
{
    sb_jw w;

    sb__jw_init(&w, out);
    sb__jw_object_begin(&w);
    sb__jw_key(&w, "name");
    sb__jw_string(&w, p->name);
    sb__jw_key(&w, "value");
    sb__jw_double(&w, p->value);
    if (p->nlabels > 0) {
        sb__jw_key(&w, "labels");
        sb__jw_object_begin(&w);
        for (size_t i = 0; i < p->nlabels; i++) {
            sb__jw_key(&w, p->labels[i].key);
            sb__jw_string(&w, p->labels[i].value);
        }
        sb__jw_object_end(&w);
    }
    if (p->has_time) {
        sb__jw_key(&w, "time");
        sb__jw_time(&w, p->time_ns);
    }
    sb__jw_object_end(&w);
    return sb__jw_error(&w);
}

/* Copies s[0..len) into out (size n), replacing control bytes by spaces
 * and cutting what does not fit. */
static void copy_printable(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;

    if (n == 0)
        return;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

/* The error text of a JSON error body, or NULL. */
static const char *json_error_text(json_t *root)
{
    json_t *e;

    if (!json_is_object(root))
        return NULL;
    e = json_object_get(root, "error");
    if (json_is_object(e))
        e = json_object_get(e, "message");
    if (e == NULL)
        e = json_object_get(root, "message");
    return json_is_string(e) ? json_string_value(e) : NULL;
}

void sb__cli_error_message(const char *body, size_t len, char *out, size_t n)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *text = json_error_text(root);

    if (text != NULL)
        copy_printable(text, strlen(text), out, n);
    else
        copy_printable(body, len, out, n);
    json_decref(root);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sb_buf *b = ud;
    size_t n = size * nmemb;
    size_t room = b->len < RESP_MAX ? RESP_MAX - b->len : 0;

    /* Keep the head of the reply; accept the rest so curl carries on. */
    if (sb__buf_append(b, ptr, n < room ? n : room) < 0)
        return 0;
    return n;
}

/* url + "/metrics", without doubling a trailing '/'. */
static int metrics_url(const char *url, char *out, size_t n)
{
    size_t len = strlen(url);
    int w;

    while (len > 0 && url[len - 1] == '/')
        len--;
    if (len > INT32_MAX)
        return SB_ETOOLARGE;
    w = snprintf(out, n, "%.*s/metrics", (int)len, url);
    return (w < 0 || (size_t)w >= n) ? SB_ETOOLARGE : 0;
}

/* POSTs body; *status receives the HTTP status. Returns 0 or, on a
 * transport failure, SB_ESYS with the reason in errbuf. */
static int post(const char *url, const sb_buf *body, sb_buf *resp, long *status,
                char *errbuf)
{
    struct curl_slist *hdrs = NULL;
    CURLcode cc = CURLE_OUT_OF_MEMORY;
    CURL *c = curl_easy_init();

    errbuf[0] = '\0';
    hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (c == NULL || hdrs == NULL)
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, PUSH_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);

out:
    if (cc != CURLE_OK && errbuf[0] == '\0')
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return cc == CURLE_OK ? 0 : SB_ESYS;
}

/* Sends the parsed point and reports the outcome; returns the exit code. */
static int send_point(const sb_cli_push *p)
{
    char errbuf[CURL_ERROR_SIZE];
    char url[URL_MAX];
    char msg[512];
    sb_buf body, resp;
    long status = 0;
    int code = SB_CLI_EXIT_FAIL;

    sb__buf_init(&body, SIZE_MAX);
    sb__buf_init(&resp, RESP_MAX);
    if (metrics_url(p->url, url, sizeof url) < 0) {
        fprintf(stderr, "scoreboard: push: --url is too long\n");
        code = SB_CLI_EXIT_USAGE;
        goto out;
    }
    if (sb__cli_push_body(p, &body) < 0) {
        fprintf(stderr, "scoreboard: push: cannot build the request\n");
        goto out;
    }
    if (post(url, &body, &resp, &status, errbuf) < 0) {
        fprintf(stderr, "scoreboard: push: cannot reach %s: %s\n", url, errbuf);
        goto out;
    }
    if (status >= 200 && status < 300) {
        code = SB_CLI_EXIT_OK;
        goto out;
    }
    sb__cli_error_message(resp.data ? resp.data : "", resp.len, msg,
                          sizeof msg);
    fprintf(stderr, "scoreboard: push: server answered %ld%s%s\n", status,
            msg[0] ? ": " : "", msg);

out:
    sb__buf_free(&body);
    sb__buf_free(&resp);
    return code;
}

int sb__cli_push_main(int argc, char *const *argv, char *const *envp)
{
    char err[SB_CLI_ERR_MAX];
    sb_cli_push p;
    int code;

    if (sb__cli_parse_push(argc, argv, envp, sb_time_now(), &p, err,
                           sizeof err) < 0) {
        fprintf(stderr,
                "scoreboard: push: %s\nRun 'scoreboard --help' for usage.\n",
                err);
        return SB_CLI_EXIT_USAGE;
    }
    if (p.help) {
        sb__cli_usage(stdout);
        sb__cli_push_free(&p);
        return SB_CLI_EXIT_OK;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "scoreboard: push: cannot initialise libcurl\n");
        sb__cli_push_free(&p);
        return SB_CLI_EXIT_FAIL;
    }
    code = send_point(&p);
    curl_global_cleanup();
    sb__cli_push_free(&p);
    return code;
}
