/*
 * match_params.h - the repeatable `match` query parameter of the read
 * routes (GET /metrics, /api/v1/series, /api/v1/query).
 *
 * Each value is a matcher, KEY=VALUE, KEY!=VALUE, KEY=~REGEX or
 * KEY!~REGEX (see store/match.h). sb_match_params (in params.h) owns
 * the decoded value strings and the matchers point into them; the set is
 * compiled once after all parameters are read.
 */
#ifndef SB_HTTP_MATCH_PARAMS_H
#define SB_HTTP_MATCH_PARAMS_H

#include "http/params.h"
#include "store/match.h"

#include <stdbool.h>
#include <stddef.h>

/* Parses one `match` value, taking ownership of p->value. SB_EINVAL with
 * a message for a malformed matcher or more than SB_MATCHERS_MAX. */
int sb__match_param_add(sb_match_params *mp, sb_param *p, char *err,
                        size_t errlen);
/* Compiles the matchers read so far (regexes included). */
int sb__match_params_compile(sb_match_params *mp, char *err, size_t errlen);
/* Frees everything; mp is empty and reusable afterwards. */
void sb__match_params_free(sb_match_params *mp);

#endif
