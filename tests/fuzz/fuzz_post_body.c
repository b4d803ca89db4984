/*
 * fuzz_post_body.c - libFuzzer target for the POST /metrics body parser.
 *
 * Every input is parsed as a body. A rejected body must leave the batch
 * empty and carry a message; an accepted one must respect the batch and
 * label limits and is then written into a small fresh store, where a
 * refused write must not change the point count (writes are atomic).
 * Any broken invariant aborts, which libFuzzer reports as a crash.
 */
#include "ingest/points_parse.h"
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

static void check_rejected(int rc, const sb_parsed_batch *b,
                           const sb_parse_error *err)
{
    CHECK(rc == SB_EINVAL || rc == SB_ETOOLARGE || rc == SB_ENOMEM);
    CHECK(b->samples == NULL && b->n == 0 && b->priv == NULL);
    if (rc != SB_ENOMEM) {
        CHECK(err->index >= -1);
        CHECK(err->message[0] != '\0');
        CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
    }
}

static void check_accepted(const sb_parsed_batch *b)
{
    CHECK(b->n <= SB_MAX_BATCH);
    CHECK(b->n == 0 || b->samples != NULL);
    for (size_t i = 0; i < b->n; i++) {
        const sb_sample *s = &b->samples[i];

        CHECK(s->name != NULL && s->name[0] != '\0');
        CHECK(s->nlabels <= SB_LABELS_MAX);
        CHECK(s->nlabels == 0 || s->labels != NULL);
        for (size_t j = 0; j < s->nlabels; j++)
            CHECK(s->labels[j].key != NULL && s->labels[j].value != NULL);
    }
}

/* Writes the batch into a small store: a refused write changes nothing,
 * an accepted one adds at most n points. */
static void write_batch(const sb_parsed_batch *b)
{
    sb_store_options opts;
    sb_store_stats before, after;
    sb_write_error werr;
    sb_store *store;
    int rc;

    sb_store_options_init(&opts);
    opts.max_series = 8;
    opts.max_points_per_series = 16;
    if (sb_store_create(&opts, &store) != 0)
        return;

    sb_store_stats_get(store, &before);
    rc = sb_store_write_batch(store, b->samples, b->n, &werr);
    sb_store_stats_get(store, &after);
    if (rc != 0) {
        CHECK(rc == SB_EINVAL || rc == SB_ERANGE || rc == SB_ELIMIT ||
              rc == SB_ENOMEM);
        CHECK(after.points == before.points);
        CHECK(after.series == before.series);
        CHECK(werr.index < b->n || b->n == 0);
        CHECK(werr.reason != NULL);
    } else {
        CHECK(after.points <= before.points + b->n);
        CHECK(b->n == 0 || after.series >= 1);
    }
    sb_store_destroy(store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sb_parsed_batch b;
    sb_parse_error err;
    int rc;

    rc = sb__parse_points((const char *)data, size, sb_time_now(), &b, &err);
    if (rc != 0) {
        check_rejected(rc, &b, &err);
        return 0;
    }
    check_accepted(&b);
    write_batch(&b);
    sb__parsed_batch_free(&b);
    return 0;
}
