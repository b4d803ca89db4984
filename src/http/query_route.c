/*
 * query_route.c - GET|HEAD /api/v1/query: parameters (query_params.c),
 * the bucketed range query (store/aggregate.c) and its JSON body
 * (encode/query_json.c).
 *
 * The store query copies points out one shard at a time and aggregates
 * with no lock held; the body is then encoded from the private result.
 * The body is bounded by max_query_values values (about 40 bytes each),
 * so it is built whole and sent with a Content-Length.
 */
#include "http/internal.h"

#include "encode/query_json.h"
#include "http/query_params.h"
#include "store/aggregate.h"

#include <stdio.h>

static enum MHD_Result fail(struct MHD_Connection *c, sb_request *rq, int rc,
                            const char *msg)
{
    if (rc == SB_ENOMEM)
        return sb__respond_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "out of memory", -1);
    if (rc == SB_EINVAL || rc == SB_ETOOLARGE)
        return sb__respond_error(c, rq, MHD_HTTP_BAD_REQUEST,
                                 msg[0] ? msg : sb_strerror(rc), -1);
    return sb__respond_error(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "internal error", -1);
}

/* The 400 text when a cap refused the query. */
static void too_large_msg(const sb_server *srv, char *msg, size_t n)
{
    snprintf(msg, n,
             "the query reads more than %zu samples or returns more than "
             "%zu values; raise step, narrow from/to or the matchers",
             srv->max_query_points, srv->max_query_values);
}

enum MHD_Result sb__get_query(struct MHD_Connection *c, sb_request *rq)
{
    sb_server *srv = rq->srv;
    sb_query_params p;
    sb_range_query q;
    sb_agg_result res;
    sb_buf body;
    char msg[320] = "";
    int rc;

    rc = sb__query_params_parse(rq->query ? rq->query : "", rq->query_len,
                                sb_time_now(), &p, msg, sizeof msg);
    if (rc != SB_OK)
        return fail(c, rq, rc, msg);

    sb__query_params_to_range(&p, &q);
    q.max_samples = srv->max_query_points;
    q.max_values = srv->max_query_values;
    rc = sb__range_query(srv->store, &q, &res);
    if (rc == SB_ETOOLARGE)
        too_large_msg(srv, msg, sizeof msg);

    sb__buf_init(&body, SIZE_MAX);
    if (rc == SB_OK)
        rc = sb__query_json(&res, p.from_ns, p.to_ns, p.step_ns, p.agg, &body);
    sb__agg_result_free(&res);
    sb__query_params_free(&p);
    if (rc != SB_OK) {
        sb__buf_free(&body);
        return fail(c, rq, rc, msg);
    }
    return sb__respond_json(c, rq, MHD_HTTP_OK, &body, true);
}
