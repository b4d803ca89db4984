/*
 * metrics.c - see metrics.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/support/metrics.h"

#include "e2e/support/http.h"
#include "e2e/support/proc.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool labels_match(const json_t *pt, const char *const *kv)
{
    const json_t *labels = json_object_get(pt, "labels");
    size_t n = 0;

    for (; kv != NULL && kv[n] != NULL; n++) {
        const char *eq = strchr(kv[n], '=');
        char key[128];
        const json_t *v;

        if (eq == NULL)
            return false;
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv[n]), kv[n]);
        v = json_object_get(labels, key);
        if (!json_is_string(v) || strcmp(json_string_value(v), eq + 1) != 0)
            return false;
    }
    return json_object_size(labels) == n;
}

double e2e_latest_value(uint16_t port, const char *name, const char *const *kv)
{
    char pq[512], url[1024];
    double v = NAN;
    e2e_resp r;
    json_t *arr, *pt;
    size_t i;

    snprintf(pq, sizeof pq, "/metrics?latest=true&name=%s", name);
    if (e2e_get(e2e_url(url, sizeof url, port, pq), &r) != 0 || r.status != 200)
        fail_msg("GET %s: status %ld", pq, r.status);
    arr = e2e_resp_json(&r);
    e2e_resp_free(&r);
    json_array_foreach(arr, i, pt)
    {
        const json_t *jv = json_object_get(pt, "value");

        if (labels_match(pt, kv) && json_is_number(jv))
            v = json_number_value(jv);
    }
    json_decref(arr);
    return v;
}

void e2e_expect_value(uint16_t port, const char *name, const char *const *kv,
                      double want)
{
    int64_t deadline = e2e_now_ms() + 15000LL * e2e_slowdown();
    double v = NAN;

    while (e2e_now_ms() < deadline) {
        v = e2e_latest_value(port, name, kv);
        if (v == want)
            return;
        e2e_sleep_ms(50);
    }
    fail_msg("%s: want %.17g, last seen %.17g", name, want, v);
}
