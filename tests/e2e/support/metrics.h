/*
 * metrics.h - reading a server's stored values back over HTTP, for the
 * end-to-end and client tests: the newest value of one series, and a
 * poll that waits (with a deadline) until it equals an expected value.
 *
 * Label sets are NULL-terminated arrays of "key=value" strings (NULL for
 * a series without labels) and must match the series' labels exactly.
 */
#ifndef E2E_SUPPORT_METRICS_H
#define E2E_SUPPORT_METRICS_H

#include <stdint.h>

/* The newest value of name{kv} from GET /metrics?latest=true, or NaN when
 * there is none. Fails the running test when the request fails. */
double e2e_latest_value(uint16_t port, const char *name, const char *const *kv);

/* Polls e2e_latest_value until it equals want exactly (at most 15 s times
 * e2e_slowdown()); fails the running test with the last value seen. */
void e2e_expect_value(uint16_t port, const char *name, const char *const *kv,
                      double want);

#endif
