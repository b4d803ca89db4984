/*
 * store_stats.c - the store collector: the store's own size and the
 * points it dropped or refused, from sb_store_stats_get().
 *
 *   scoreboard_store_series                                   gauge
 *   scoreboard_store_points                                   gauge
 *   scoreboard_store_sample_bytes                             gauge
 *   scoreboard_store_bytes_per_sample                         gauge
 *   scoreboard_store_dropped_points_total{reason=retention|capacity|memory}
 *   scoreboard_store_rejected_samples_total{reason=series_limit|out_of_order}
 *
 * Stateless: the figures are cumulative in the store already.
 */
#include "collect/collector.h"

#include <stddef.h>

static const sb_label reason_retention[] = {{"reason", "retention"}};
static const sb_label reason_capacity[] = {{"reason", "capacity"}};
static const sb_label reason_series[] = {{"reason", "series_limit"}};
static const sb_label reason_memory[] = {{"reason", "memory"}};
static const sb_label reason_order[] = {{"reason", "out_of_order"}};

static int store_collect(void *state, sb_store *store, int64_t now_ns)
{
    sb_store_stats st;

    (void)state;
    sb_store_stats_get(store, &st);
    /* Sample bytes over points held; 0 for an empty store. */
    double per = st.points ? (double)st.sample_bytes / (double)st.points : 0;

    const sb_sample s[] = {
        {.name = "scoreboard_store_series",
         .value = (double)st.series,
         .time_ns = now_ns},
        {.name = "scoreboard_store_points",
         .value = (double)st.points,
         .time_ns = now_ns},
        {.name = "scoreboard_store_dropped_points_total",
         .labels = reason_retention,
         .nlabels = 1,
         .value = (double)st.dropped_retention,
         .time_ns = now_ns},
        {.name = "scoreboard_store_dropped_points_total",
         .labels = reason_capacity,
         .nlabels = 1,
         .value = (double)st.dropped_capacity,
         .time_ns = now_ns},
        {.name = "scoreboard_store_rejected_samples_total",
         .labels = reason_series,
         .nlabels = 1,
         .value = (double)st.rejected_series,
         .time_ns = now_ns},
        {.name = "scoreboard_store_sample_bytes",
         .value = (double)st.sample_bytes,
         .time_ns = now_ns},
        {.name = "scoreboard_store_bytes_per_sample",
         .value = per,
         .time_ns = now_ns},
        {.name = "scoreboard_store_dropped_points_total",
         .labels = reason_memory,
         .nlabels = 1,
         .value = (double)st.dropped_memory,
         .time_ns = now_ns},
        {.name = "scoreboard_store_rejected_samples_total",
         .labels = reason_order,
         .nlabels = 1,
         .value = (double)st.rejected_out_of_order,
         .time_ns = now_ns},
    };

    return sb__collect_write(store, s, sizeof s / sizeof s[0]);
}

int sb__collector_store(sb_collector *out)
{
    if (out == NULL)
        return SB_EINVAL;
    *out = (sb_collector){.name = "store",
                          .state = NULL,
                          .collect = store_collect,
                          .destroy = NULL};
    return 0;
}
