/*
 * budget.c - a cap on the memory held by GET answers being sent.
 *
 * An answer holds its snapshot (and the encoder's per-series prefixes,
 * or the whole /api/v1/series body) until its client has read it, so a
 * few slow readers of large answers could otherwise pin gigabytes. Every
 * answer takes its estimated cost from the server's budget before it is
 * queued and gives it back when the request completes (request.c). An
 * answer that does not fit is refused with 503; one answer is always
 * allowed when no other holds any, so a single large read still works,
 * and small answers (SB_ANSWER_SMALL) are not counted at all.
 */
#include "http/internal.h"

#include "store/result.h"

#include <string.h>

size_t sb__result_cost(const sb_result *res)
{
    size_t strings = 0, cost;

    if (res == NULL)
        return 0;
    cost = res->npoints * sizeof(sb_result_point) +
           res->nseries * sizeof(sb_result_series);
    for (size_t i = 0; i < res->nseries; i++) {
        const sb_result_series *s = &res->series[i];

        strings += s->name_len + s->nlabels * sizeof(sb_label);
        for (size_t k = 0; k < s->nlabels; k++)
            strings +=
                strlen(s->labels[k].key) + strlen(s->labels[k].value) + 2;
    }
    /* The snapshot's copy, and about as much again for the encoder. */
    return cost + 2 * strings;
}

bool sb__answer_take(sb_request *rq, size_t cost)
{
    sb_server *srv = rq->srv;
    size_t cur;

    if (cost <= SB_ANSWER_SMALL)
        return true; /* bounded per connection like MHD's own pool */
    cur = atomic_load(&srv->answer_bytes);
    do {
        if (cur != 0 &&
            (cur > srv->answer_budget || cost > srv->answer_budget - cur))
            return false;
    } while (
        !atomic_compare_exchange_weak(&srv->answer_bytes, &cur, cur + cost));
    rq->answer_cost += cost;
    return true;
}

void sb__answer_give(sb_request *rq)
{
    atomic_fetch_sub(&rq->srv->answer_bytes, rq->answer_cost);
    rq->answer_cost = 0;
}
