/*
 * fuzz_query.c - libFuzzer target for query strings and the time and
 * duration parsers behind them.
 *
 * The input is fed to sb__params_parse, to sb__metrics_params_parse for
 * both routes, and as a bare value to sb__parse_time, sb__parse_rfc3339
 * and sb__parse_duration. Accepted results must satisfy the documented
 * invariants (limits, since <= until, no empty names or keys); an RFC 3339
 * time must survive a format-and-parse round trip exactly. Any broken
 * invariant aborts, which libFuzzer reports as a crash.
 */
#include "common/timeparse.h"
#include "http/params.h"
#include "scoreboard.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

/* A fixed "now" keeps runs reproducible. */
#define NOW INT64_C(1796322133000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_split(const char *s, size_t n)
{
    char err[128];
    sb_params p;
    int rc = sb__params_parse(s, n, &p, err, sizeof(err));

    if (rc != 0) {
        CHECK(rc == SB_EINVAL || rc == SB_ETOOLARGE || rc == SB_ENOMEM);
        CHECK(p.items == NULL && p.n == 0);
        return;
    }
    CHECK(n <= SB_QUERY_MAX && p.n <= SB_PARAMS_MAX);
    for (size_t i = 0; i < p.n; i++) {
        CHECK(p.items[i].key[0] != '\0');
        CHECK(strlen(p.items[i].key) + strlen(p.items[i].value) <= n);
    }
    sb__params_free(&p);
}

static void fuzz_route(const char *s, size_t n, int route)
{
    char err[200];
    sb_metrics_params mp;
    int rc = sb__metrics_params_parse(s, n, route, NOW, &mp, err, sizeof(err));

    if (rc != 0) {
        CHECK(rc == SB_EINVAL || rc == SB_ETOOLARGE || rc == SB_ENOMEM);
        CHECK(mp.names == NULL && mp.nnames == 0 && mp.query.nnames == 0);
        return;
    }
    CHECK(mp.query.since_ns <= mp.query.until_ns);
    CHECK(mp.query.limit <= 10000000);
    CHECK(mp.nnames <= 64 && mp.query.nnames == mp.nnames);
    for (size_t i = 0; i < mp.nnames; i++)
        CHECK(mp.query.names[i] != NULL && mp.query.names[i][0] != '\0');
    if (route == SB_PARAMS_SERIES)
        CHECK(mp.query.limit == 0 && !mp.query.latest);
    sb__metrics_params_free(&mp);
}

/* A parsed RFC 3339 time, formatted and parsed again, is unchanged. */
static void check_round_trip(int64_t ns)
{
    char text[SB_RFC3339_MAX + 1];
    int64_t again = 0;
    size_t len = sb__fmt_rfc3339(ns, text);

    CHECK(len <= SB_RFC3339_MAX && text[len] == '\0');
    CHECK(sb__parse_rfc3339(text, len, &again) == 0);
    CHECK(again == ns);
}

static void fuzz_times(const char *s, size_t n)
{
    int64_t t = 0;
    int rc;

    rc = sb__parse_time(s, n, NOW, &t);
    CHECK(rc == 0 || rc == SB_EINVAL || rc == SB_ERANGE);
    if (rc == 0 && n > 0 && (s[0] == '-' || s[0] == 'n'))
        CHECK(t <= NOW);

    rc = sb__parse_rfc3339(s, n, &t);
    CHECK(rc == 0 || rc == SB_EINVAL || rc == SB_ERANGE);
    if (rc == 0)
        check_round_trip(t);

    rc = sb__parse_duration(s, n, &t);
    CHECK(rc == 0 || rc == SB_EINVAL || rc == SB_ERANGE);
    if (rc == 0)
        CHECK(t >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    fuzz_split(s, size);
    fuzz_route(s, size, SB_PARAMS_METRICS);
    fuzz_route(s, size, SB_PARAMS_SERIES);
    fuzz_times(s, size);
    return 0;
}
