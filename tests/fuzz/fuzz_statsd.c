/*
 * fuzz_statsd.c - libFuzzer target for the StatsD line parser and the
 * aggregator behind it.
 *
 * The input is parsed as one line; an accepted line must satisfy the
 * parser's contract (name and tag keys in the store's charsets and
 * limits, sorted unique tags, a finite value, a rate in (0, 1]). The
 * input is then fed as a packet to an aggregator and flushed into a
 * store: the store must accept every series the aggregator writes, so
 * scoreboard_statsd_write_errors_total stays zero. Any broken invariant
 * aborts, which libFuzzer reports as a crash.
 */
#include "collect/statsd.h"
#include "ingest/statsd_parse.h"
#include "scoreboard.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

#define RUNS_PER_STORE 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool charset(const char *s, const char *first, const char *rest)
{
    return s[0] != '\0' && strchr(first, s[0]) != NULL &&
           strspn(s, rest) == strlen(s);
}

static void check_line(const sb_statsd_line *l)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
    static const char name_rest[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789.-";
    static const char key_rest[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";

    CHECK(l->used <= sizeof l->text);
    CHECK(charset(l->name, alpha, name_rest));
    CHECK(strlen(l->name) <= SB_STATSD_NAME_MAX);
    CHECK(l->type >= 0 && l->type < SB_STATSD_TYPE_COUNT);
    CHECK(l->rate > 0 && l->rate <= 1);
    CHECK(l->ntags <= SB_STATSD_TAGS_MAX);
    if (l->type == SB_STATSD_SET)
        CHECK(l->member != NULL && l->member_len > 0 &&
              l->member_len <= SB_STATSD_MEMBER_MAX);
    else
        CHECK(isfinite(l->value));
    for (size_t i = 0; i < l->ntags; i++) {
        CHECK(charset(l->tags[i].key, alpha, key_rest));
        CHECK(strlen(l->tags[i].key) <= SB_LABEL_KEY_MAX);
        CHECK(strlen(l->tags[i].value) <= SB_LABEL_VALUE_MAX);
        CHECK(i == 0 || strcmp(l->tags[i - 1].key, l->tags[i].key) < 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sb_statsd_line line;
    static sb_store *store;
    static sb_statsd_agg *agg;
    static unsigned runs;
    sb_store_options so;
    sb_statsd_stats st;
    const char *reason = NULL;
    int rc;

    rc = sb__statsd_parse((const char *)data, size, &line, &reason);
    if (rc == 0)
        check_line(&line);
    else
        CHECK((rc == SB_EINVAL || rc == SB_ETOOLARGE) && reason != NULL);

    if (runs++ % RUNS_PER_STORE == 0) {
        sb__statsd_agg_destroy(agg);
        sb_store_destroy(store);
        sb_store_options_init(&so);
        so.max_series = 1000000;
        CHECK(sb_store_create(&so, &store) == SB_OK);
        CHECK(sb__statsd_agg_create(NULL, NULL, &agg) == SB_OK);
    }
    sb__statsd_agg_feed(agg, SB_STATSD_UDP, (const char *)data, size, &line);
    sb__statsd_agg_flush(agg, store, sb_time_now());
    sb__statsd_agg_stats(agg, &st);
    CHECK(st.write_errors == 0);
    CHECK(st.malformed[SB_STATSD_UDP] <= st.lines[SB_STATSD_UDP]);
    return 0;
}
