/*
 * match_params.c - the `match` query parameter (see match_params.h).
 */
#include "http/match_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb__match_param_add(sb_match_params *mp, sb_param *p, char *err,
                        size_t errlen)
{
    int rc;

    if (mp->n == SB_MATCHERS_MAX) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "match: given more than %d times",
                     SB_MATCHERS_MAX);
        return SB_EINVAL;
    }
    rc = sb__matcher_parse(p->value, &mp->m[mp->n], err, errlen);
    if (rc != SB_OK)
        return rc;
    mp->texts[mp->n++] = p->value;
    p->value = NULL;
    return SB_OK;
}

int sb__match_params_compile(sb_match_params *mp, char *err, size_t errlen)
{
    int rc = sb__matchset_compile(&mp->ms, mp->m, mp->n, err, errlen);

    mp->compiled = rc == SB_OK;
    return rc;
}

void sb__match_params_free(sb_match_params *mp)
{
    if (mp == NULL)
        return;
    if (mp->compiled)
        sb__matchset_free(&mp->ms);
    for (size_t i = 0; i < mp->n; i++)
        free(mp->texts[i]);
    mp->n = 0;
    mp->compiled = false;
}
