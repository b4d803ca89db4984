/*
 * store_probe.c - see store_probe.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/support/store_probe.h"

#include <string.h>

bool sb_test_labels_equal(const sb_sample *s, const char *const *kv, size_t nkv)
{
    if (s->nlabels != nkv)
        return false;
    for (size_t i = 0; i < nkv; i++) {
        bool found = false;

        for (size_t j = 0; j < s->nlabels; j++)
            if (strcmp(s->labels[j].key, kv[2 * i]) == 0 &&
                strcmp(s->labels[j].value, kv[2 * i + 1]) == 0)
                found = true;
        if (!found)
            return false;
    }
    return true;
}

size_t sb_test_value_at(sb_store *st, const char *name, const char *const *kv,
                        size_t nkv, int64_t t, double *v)
{
    const char *names[1] = {name};
    sb_result *r = NULL;
    sb_query q;
    size_t found = 0;

    sb_query_init(&q);
    q.names = names;
    q.nnames = 1;
    q.since_ns = t;
    q.until_ns = t;
    assert_int_equal(sb_store_query(st, &q, &r), SB_OK);
    for (size_t i = 0; i < sb_result_point_count(r); i++) {
        sb_sample s;

        sb_result_get_point(r, i, &s);
        if (sb_test_labels_equal(&s, kv, nkv)) {
            *v = s.value;
            found++;
        }
    }
    sb_result_free(r);
    return found;
}
