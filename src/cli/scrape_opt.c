/*
 * scrape_opt.c - the --scrape flag and SCOREBOARD_SCRAPE (see cli.h).
 *
 * Each target's URL and job are owned copies held in the target itself
 * (as const pointers for the library); sb__cli_scrape_free releases
 * them. Errors name the flag or variable and the offending spec.
 */
#include "cli/cli.h"

#include "collect/scrape.h"
#include "common/timeparse.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JOB_MAX 128

static int fail(char *err, size_t errn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errn, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errn, fmt, ap);
    va_end(ap);
    return SB_EINVAL;
}

static bool job_ok(const char *j, size_t n)
{
    if (n == 0 || n > JOB_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)j[i] <= 0x20 || (unsigned char)j[i] >= 0x7f)
            return false;
    }
    return true;
}

static int grow(sb_cli_serve *o)
{
    sb_scrape_target *t;
    size_t cap = o->scrape_cap ? 2 * o->scrape_cap : 4;

    if (o->nscrape < o->scrape_cap)
        return 0;
    t = realloc(o->scrape, cap * sizeof *t);
    if (t == NULL)
        return SB_ENOMEM;
    o->scrape = t;
    o->scrape_cap = cap;
    return 0;
}

/* INTERVAL and JOB after the URL's comma: s[0..n). */
static int parse_tail(const char *src, const char *s, size_t n, int64_t *ivl,
                      const char **job, size_t *jn, char *err, size_t errn)
{
    const char *comma = memchr(s, ',', n);
    size_t dn = comma ? (size_t)(comma - s) : n;

    if (sb__parse_duration(s, dn, ivl) < 0 || *ivl < SB_SCRAPE_INTERVAL_MIN)
        return fail(err, errn,
                    "%s: '%.*s' is not an interval of at least 100ms", src,
                    (int)(dn < 40 ? dn : 40), s);
    if (comma == NULL)
        return 0;
    *job = comma + 1;
    *jn = n - dn - 1;
    if (!job_ok(*job, *jn))
        return fail(err, errn,
                    "%s: the job must be 1 to %d printable bytes without "
                    "spaces or commas",
                    src, JOB_MAX);
    return 0;
}

/* One spec s[0..n). */
static int add_one(sb_cli_serve *o, const char *src, const char *s, size_t n,
                   char *err, size_t errn)
{
    const char *comma = memchr(s, ',', n), *reason = NULL, *job = NULL;
    size_t un = comma ? (size_t)(comma - s) : n, jn = 0;
    char instance[SB_SCRAPE_INSTANCE_MAX];
    sb_scrape_target *t;
    int64_t ivl = 0;
    char *url;
    int rc;

    if (comma != NULL && (rc = parse_tail(src, comma + 1, n - un - 1, &ivl,
                                          &job, &jn, err, errn)) < 0)
        return rc;
    if ((rc = grow(o)) < 0 || (url = strndup(s, un)) == NULL)
        return SB_ENOMEM;
    rc = sb__scrape_url_check(url, instance, sizeof instance, &reason);
    if (rc < 0) {
        fail(err, errn, "%s: '%.80s': %s", src, url, reason);
        free(url);
        return rc;
    }
    t = &o->scrape[o->nscrape];
    t->url = url;
    t->interval_ns = ivl;
    t->job = job ? strndup(job, jn) : NULL;
    o->nscrape++;
    return job != NULL && t->job == NULL ? SB_ENOMEM : 0;
}

int sb__cli_add_scrape(sb_cli_serve *o, const char *src, const char *v,
                       bool from_env, char *err, size_t errn)
{
    const char *p = v;
    int rc = 0;

    if (!from_env)
        return add_one(o, src, v, strlen(v), err, errn);
    while (rc == 0 && *p != '\0') {
        size_t n;

        p += strspn(p, " \t\n");
        n = strcspn(p, " \t\n");
        if (n > 0)
            rc = add_one(o, src, p, n, err, errn);
        p += n;
    }
    return rc;
}

void sb__cli_scrape_free(sb_cli_serve *o)
{
    for (size_t i = 0; i < o->nscrape; i++) {
        free((void *)(uintptr_t)o->scrape[i].url);
        free((void *)(uintptr_t)o->scrape[i].job);
    }
    free(o->scrape);
    o->scrape = NULL;
    o->nscrape = 0;
    o->scrape_cap = 0;
}
