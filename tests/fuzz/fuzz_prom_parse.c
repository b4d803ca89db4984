/*
 * fuzz_prom_parse.c - libFuzzer target for the Prometheus text format
 * parser, the scrape ingest behind it and the exposition encoder.
 *
 * The input is parsed to the end; every item must satisfy the parser's
 * contract (valid names and label keys, label count within the limit,
 * a known kind and type). Accepted input is then ingested into a fresh
 * store as one scrape would be, and when the store took it, its
 * Prometheus exposition must itself parse without error (so whatever a
 * target sends, scoreboard never exposes text Prometheus cannot read).
 * The input is also read as an Accept header. A broken invariant
 * aborts, which libFuzzer reports as a crash.
 */
#include "collect/scrape.h"
#include "common/buf.h"
#include "encode/prom_text.h"
#include "http/internal.h"
#include "ingest/prom_parse.h"
#include "scoreboard.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_ok(const char *s, bool colon)
{
    if (s == NULL || *s == '\0')
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || (colon && c == ':') ||
                  (i > 0 && c >= '0' && c <= '9');

        if (!ok)
            return false;
    }
    return true;
}

/* Parses text to the end, checking every item; the final code. */
static int parse_all(const char *text, size_t len, size_t *nsamples)
{
    const sb_prom_limits lim = {4096, 8, 200};
    sb_prom_parser p;
    sb_prom_item it;
    int rc;

    *nsamples = 0;
    CHECK(sb__prom_parser_init(&p, text, len, &lim) == 0);
    while ((rc = sb__prom_next(&p, &it)) == 1) {
        CHECK(it.kind >= SB_PROM_SAMPLE && it.kind <= SB_PROM_TYPE);
        CHECK(name_ok(it.name, true));
        CHECK(it.type >= SB_PROM_UNTYPED && it.type <= SB_PROM_SUMMARY);
        CHECK(it.nlabels <= lim.max_labels);
        for (size_t i = 0; i < it.nlabels; i++)
            CHECK(name_ok(it.labels[i].key, false) &&
                  strcmp(it.labels[i].key, "__name__") != 0);
        *nsamples += it.kind == SB_PROM_SAMPLE;
    }
    CHECK(rc == 0 || rc == SB_EINVAL || rc == SB_ETOOLARGE);
    CHECK(rc == 0 || p.err[0] != '\0');
    CHECK(sb__prom_next(&p, &it) == rc); /* stays where it stopped */
    sb__prom_parser_free(&p);
    return rc;
}

/* The store's exposition must parse. */
static void check_exposition(sb_store *st)
{
    sb_result *res = NULL;
    sb_prom_enc e;
    sb_query q;
    sb_buf out;
    int rc;

    sb_query_init(&q);
    q.latest = true;
    CHECK(sb_store_query(st, &q, &res) == 0);
    CHECK(sb__prom_enc_init(&e, res) == 0);
    sb__buf_init(&out, SIZE_MAX);
    while ((rc = sb__prom_enc_fill(&e, &out, 1024)) == 1)
        ;
    CHECK(rc == 0);
    {
        sb_prom_parser p;
        sb_prom_item it;

        CHECK(sb__prom_parser_init(&p, out.data ? out.data : "", out.len,
                                   NULL) == 0);
        while ((rc = sb__prom_next(&p, &it)) == 1)
            ;
        if (rc != 0)
            abort();
        sb__prom_parser_free(&p);
    }
    sb__buf_free(&out);
    sb__prom_enc_free(&e);
    sb_result_free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    size_t nsamples, stored;
    sb_store *st = NULL;
    char err[256];
    int f, rc;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    f = sb__negotiate_format(text);
    CHECK(f == SB_FORMAT_JSON || f == SB_FORMAT_PROM);

    if (parse_all(text, size, &nsamples) == 0 && nsamples <= 200) {
        CHECK(sb_store_create(NULL, &st) == 0);
        rc = sb__scrape_ingest(st, text, size, "job", "127.0.0.1:1",
                               sb_time_now(), 0.5, &stored, err, sizeof err);
        if (rc == 0) {
            CHECK(stored == nsamples);
            check_exposition(st);
        }
        sb_store_destroy(st);
    }
    free(text);
    return 0;
}
