/*
 * options.c - parsing of the command line and environment of `scoreboard
 * serve` and `scoreboard push`, and the usage text.
 *
 * Everything here is a pure function of argv and envp: nothing is printed
 * and nothing exits, so every flag, variable and bad value is covered by
 * table-driven unit tests. Precedence is flag > environment > default:
 * flags are parsed first and remembered, then each variable fills only
 * what no flag set (so a bad variable behind a flag is ignored).
 *
 * Numbers are parsed digit by digit (no strtoull: it accepts a sign,
 * leading spaces and wraps "-1"), with an explicit overflow check.
 */
#include "cli/cli.h"

#include "common/timeparse.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum serve_flag {
    F_LISTEN,
    F_RETENTION,
    F_INTERVAL,
    F_MAX_SERIES,
    F_MAX_POINTS,
    F_MAX_BODY,
    F_CORS,
    F_ACCESS_LOG,
    F_LOG_LEVEL,
    F_NO_PROCESS,
    F_NO_SYSTEM,
    F_MAX_MEMORY,
    F_STATSD,
    F_SCRAPE,
    F_HELP,
    F_COUNT
};

typedef struct flag_def {
    const char *name; /* without the leading "--" */
    const char *env;  /* mirrored variable, or NULL */
    bool has_value;
} flag_def;

static const flag_def serve_flags[F_COUNT] = {
    [F_LISTEN] = {"listen", "SCOREBOARD_LISTEN", true},
    [F_RETENTION] = {"retention", "SCOREBOARD_RETENTION", true},
    [F_INTERVAL] = {"interval", "SCOREBOARD_INTERVAL", true},
    [F_MAX_SERIES] = {"max-series", "SCOREBOARD_MAX_SERIES", true},
    [F_MAX_POINTS] = {"max-points", "SCOREBOARD_MAX_POINTS", true},
    [F_MAX_BODY] = {"max-body", "SCOREBOARD_MAX_BODY", true},
    [F_CORS] = {"cors-origin", "SCOREBOARD_CORS_ORIGIN", true},
    [F_ACCESS_LOG] = {"access-log", "SCOREBOARD_ACCESS_LOG", false},
    [F_LOG_LEVEL] = {"log-level", "SCOREBOARD_LOG_LEVEL", true},
    [F_NO_PROCESS] = {"no-process", NULL, false},
    [F_NO_SYSTEM] = {"no-system", NULL, false},
    [F_MAX_MEMORY] = {"max-memory", "SCOREBOARD_MAX_MEMORY", true},
    [F_STATSD] = {"statsd", "SCOREBOARD_STATSD", true},
    [F_SCRAPE] = {"scrape", "SCOREBOARD_SCRAPE", true},
    [F_HELP] = {"help", NULL, false},
};

static int fail(char *err, size_t errn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errn, const char *fmt, ...)
{
    va_list ap;

    if (errn > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errn, fmt, ap);
        va_end(ap);
    }
    return SB_EINVAL;
}

const char *sb__cli_getenv(char *const *envp, const char *name)
{
    size_t len = strlen(name);

    for (; envp != NULL && *envp != NULL; envp++)
        if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
            return (*envp)[len + 1] != '\0' ? *envp + len + 1 : NULL;
    return NULL;
}

/* Parses a non-empty string of decimal digits. SB_ERANGE on overflow. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return SB_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return SB_EINVAL;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return SB_ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int set_count(const char *src, const char *v, size_t *out, char *err,
                     size_t errn)
{
    uint64_t n = 0;
    int rc = parse_u64(v, strlen(v), &n);

    if (rc == SB_ERANGE || (rc == 0 && n > SIZE_MAX))
        return fail(err, errn, "%s: '%.40s' is too large", src, v);
    if (rc < 0 || n == 0)
        return fail(err, errn, "%s: '%.40s' is not a positive integer", src, v);
    *out = (size_t)n;
    return 0;
}

/* "1048576", "512KiB" or "1MiB", between 1 byte and 1 GiB. */
static int set_bytes(const char *src, const char *v, size_t *out, char *err,
                     size_t errn)
{
    size_t len = strlen(v);
    size_t digits = strspn(v, "0123456789");
    uint64_t n = 0, mult = 1;
    int rc;

    if (strcmp(v + digits, "KiB") == 0)
        mult = 1024;
    else if (strcmp(v + digits, "MiB") == 0)
        mult = 1024 * 1024;
    else if (digits != len)
        return fail(err, errn,
                    "%s: '%.40s' is not a size (use bytes, KiB or MiB, "
                    "e.g. 1MiB)",
                    src, v);
    rc = parse_u64(v, digits, &n);
    if (rc == SB_EINVAL || (rc == 0 && n == 0))
        return fail(err, errn, "%s: '%.40s' must be at least 1 byte", src, v);
    if (rc == SB_ERANGE || n > SB_CLI_MAX_BODY_MAX / mult)
        return fail(err, errn, "%s: '%.40s' is above the 1GiB limit", src, v);
    *out = (size_t)(n * mult);
    return 0;
}

/* "0" (no cap), "268435456", "64MiB", "1GiB", ... up to SIZE_MAX bytes. */
static int set_memory(const char *src, const char *v, size_t *out, char *err,
                      size_t errn)
{
    static const char *const units[] = {"", "B", "KiB", "MiB", "GiB", "TiB"};
    static const unsigned shifts[] = {0, 0, 10, 20, 30, 40};
    size_t digits = strspn(v, "0123456789");
    uint64_t n = 0;
    size_t u;
    int rc;

    for (u = 0; u < sizeof units / sizeof units[0]; u++)
        if (strcmp(v + digits, units[u]) == 0)
            break;
    if (u == sizeof units / sizeof units[0] || digits == 0)
        return fail(err, errn,
                    "%s: '%.40s' is not a size (bytes, KiB, MiB, GiB or "
                    "TiB, e.g. 256MiB; 0 for no cap)",
                    src, v);
    rc = parse_u64(v, digits, &n);
    if (rc == SB_ERANGE || n > (SIZE_MAX >> shifts[u]))
        return fail(err, errn, "%s: '%.40s' is too large", src, v);
    *out = (size_t)(n << shifts[u]);
    return 0;
}

/* too_small is the message for a duration below min_ns. */
static int set_duration(const char *src, const char *v, int64_t min_ns,
                        const char *too_small, int64_t *out, char *err,
                        size_t errn)
{
    int64_t ns;
    int rc = sb__parse_duration(v, strlen(v), &ns);

    if (rc == SB_ERANGE)
        return fail(err, errn, "%s: '%.40s' is too long", src, v);
    if (rc < 0)
        return fail(err, errn,
                    "%s: '%.40s' is not a duration (e.g. 500ms, 30s, 1h)", src,
                    v);
    if (ns < min_ns)
        return fail(err, errn, "%s: '%.40s' %s", src, v, too_small);
    *out = ns;
    return 0;
}

/* HOST:PORT or [V6]:PORT with a port from 0 to 65535; the server does the
 * real resolution, this catches typos with a usage error. */
static int check_listen(const char *src, const char *v, char *err, size_t errn)
{
    const char *colon = strrchr(v, ':');
    uint64_t port = 0;

    if (colon == NULL || colon == v ||
        parse_u64(colon + 1, strlen(colon + 1), &port) < 0 || port > 65535)
        return fail(err, errn,
                    "%s: '%.60s' is not HOST:PORT (e.g. 127.0.0.1:8080, "
                    "[::1]:8080)",
                    src, v);
    if (v[0] == '[' && colon[-1] != ']')
        return fail(err, errn, "%s: '%.60s' has an unclosed '['", src, v);
    return 0;
}

static int push_origin(sb_cli_serve *o, const char *origin, const char *src,
                       char *err, size_t errn)
{
    const char **grown;

    if (*origin == '\0')
        return fail(err, errn, "%s: an origin is empty", src);
    for (const char *p = origin; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
            return fail(err, errn,
                        "%s: origin '%.60s' contains a space or control byte",
                        src, origin);
    if (o->ncors == o->cors_cap) {
        size_t cap = o->cors_cap ? 2 * o->cors_cap : 4;
        grown = realloc(o->cors, cap * sizeof *grown);
        if (grown == NULL)
            return SB_ENOMEM;
        o->cors = grown;
        o->cors_cap = cap;
    }
    o->cors[o->ncors++] = origin;
    return 0;
}

/* Splits a comma-separated list of origins (spaces around items ignored)
 * into an owned copy. */
static int set_cors_env(sb_cli_serve *o, const char *src, const char *v,
                        char *err, size_t errn)
{
    char *item;
    int rc = 0;

    o->cors_env = strdup(v);
    if (o->cors_env == NULL)
        return SB_ENOMEM;
    item = o->cors_env;
    while (rc == 0 && item != NULL) {
        char *comma = strchr(item, ',');
        char *end;

        if (comma != NULL)
            *comma = '\0';
        item += strspn(item, " \t");
        end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*item != '\0')
            rc = push_origin(o, item, src, err, errn);
        item = comma != NULL ? comma + 1 : NULL;
    }
    return rc;
}

static int set_bool_env(const char *src, const char *v, bool *out, char *err,
                        size_t errn)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
        *out = true;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
             strcmp(v, "no") == 0)
        *out = false;
    else
        return fail(err, errn, "%s: '%.40s' is not 1/true or 0/false", src, v);
    return 0;
}

/*
 * Applies one flag or variable. src names it in messages ("--retention"
 * or "SCOREBOARD_RETENTION"); v is NULL for a flag without a value.
 */
static int apply(sb_cli_serve *o, int id, const char *src, const char *v,
                 bool from_env, char *err, size_t errn)
{
    int level;

    switch (id) {
    case F_LISTEN:
        o->listen = v;
        return check_listen(src, v, err, errn);
    case F_RETENTION:
        return set_duration(src, v, 1, "must be greater than zero",
                            &o->retention_ns, err, errn);
    case F_INTERVAL:
        return set_duration(src, v, SB_CLI_MIN_INTERVAL_NS,
                            "must be at least 10ms", &o->interval_ns, err,
                            errn);
    case F_MAX_SERIES:
        return set_count(src, v, &o->max_series, err, errn);
    case F_MAX_POINTS:
        return set_count(src, v, &o->max_points, err, errn);
    case F_MAX_BODY:
        return set_bytes(src, v, &o->max_body, err, errn);
    case F_CORS:
        if (from_env)
            return set_cors_env(o, src, v, err, errn);
        return push_origin(o, v, src, err, errn);
    case F_ACCESS_LOG:
        if (from_env)
            return set_bool_env(src, v, &o->access_log, err, errn);
        o->access_log = true;
        return 0;
    case F_LOG_LEVEL:
        level = sb_log_level_parse(v);
        if (level < 0)
            return fail(err, errn,
                        "%s: '%.40s' is not one of error, warn, info, debug",
                        src, v);
        o->log_level = level;
        return 0;
    case F_NO_PROCESS:
        o->no_process = true;
        return 0;
    case F_NO_SYSTEM:
        o->no_system = true;
        return 0;
    case F_MAX_MEMORY:
        return set_memory(src, v, &o->max_memory, err, errn);
    case F_STATSD:
        o->statsd = v;
        return check_listen(src, v, err, errn);
    case F_SCRAPE:
        return sb__cli_add_scrape(o, src, v, from_env, err, errn);
    default:
        return fail(err, errn, "internal error: flag %d", id);
    }
}

static void serve_defaults(sb_cli_serve *o)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:8080";
    o->retention_ns = 3600LL * 1000000000LL;
    o->interval_ns = 1000000000LL;
    o->max_series = 10000;
    o->max_points = 10000;
    o->max_body = 1024 * 1024;
    o->log_level = SB_LOG_INFO;
    o->max_memory = SB_CLI_DEFAULT_MAX_MEMORY;
}

/* Finds the flag named by arg ("--name" or "--name=value"). Returns its
 * id or -1; *inline_value receives the text after '=' or NULL. */
static int find_flag(const char *arg, const char **inline_value)
{
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);

    *inline_value = eq != NULL ? eq + 1 : NULL;
    for (int id = 0; id < F_COUNT; id++)
        if (strlen(serve_flags[id].name) == len &&
            memcmp(serve_flags[id].name, name, len) == 0)
            return id;
    return -1;
}

/* Parses argv into o, marking the flags seen in set[]. */
static int parse_serve_argv(int argc, char *const *argv, sb_cli_serve *o,
                            bool *set, char *err, size_t errn)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *v;
        char src[48];
        int id, rc;

        if (strcmp(arg, "-h") == 0) {
            o->help = true;
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0)
            return fail(err, errn, "unexpected argument '%.60s'", arg);
        id = find_flag(arg, &v);
        if (id < 0)
            return fail(err, errn, "unknown flag '%.60s'", arg);
        snprintf(src, sizeof src, "--%s", serve_flags[id].name);
        if (serve_flags[id].has_value && v == NULL) {
            if (i + 1 >= argc)
                return fail(err, errn, "%s needs a value", src);
            v = argv[++i];
        } else if (!serve_flags[id].has_value && v != NULL) {
            return fail(err, errn, "%s takes no value", src);
        }
        if (id == F_HELP) {
            o->help = true;
            return 0;
        }
        rc = apply(o, id, src, v, false, err, errn);
        if (rc < 0)
            return rc;
        set[id] = true;
    }
    return 0;
}

int sb__cli_parse_serve(int argc, char *const *argv, char *const *envp,
                        sb_cli_serve *out, char *err, size_t errn)
{
    bool set[F_COUNT] = {false};
    int rc;

    serve_defaults(out);
    if (errn > 0)
        err[0] = '\0';

    rc = parse_serve_argv(argc, argv, out, set, err, errn);
    if (rc < 0 || out->help)
        goto out;

    for (int id = 0; id < F_COUNT; id++) {
        const char *v;

        if (set[id] || serve_flags[id].env == NULL)
            continue;
        v = sb__cli_getenv(envp, serve_flags[id].env);
        if (v == NULL)
            continue;
        rc = apply(out, id, serve_flags[id].env, v, true, err, errn);
        if (rc < 0)
            goto out;
    }

out:
    if (rc < 0) {
        if (rc == SB_ENOMEM)
            fail(err, errn, "out of memory");
        sb__cli_serve_free(out);
    }
    return rc;
}

void sb__cli_serve_free(sb_cli_serve *o)
{
    if (o == NULL)
        return;
    free(o->cors);
    free(o->cors_env);
    o->cors = NULL;
    o->cors_env = NULL;
    o->ncors = 0;
    o->cors_cap = 0;
    sb__cli_scrape_free(o);
}

/* ------------------------------------------------------------- push */

static bool name_ok(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > SB_NAME_MAX)
        return false;
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:") ==
        0)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_:.-") == len;
}

static bool label_key_ok(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > SB_LABEL_KEY_MAX)
        return false;
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") == 0)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_") == len;
}

/* A decimal (what strtod reads, without leading blanks) or NaN/Inf in
 * any case, with an optional sign. Overflowing decimals are refused. */
static int parse_value(const char *s, double *out)
{
    char *end;
    double v;

    if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n')
        return SB_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0')
        return SB_EINVAL;
    if (errno == ERANGE && isinf(v))
        return SB_ERANGE;
    *out = v;
    return 0;
}

/* Well-formed UTF-8 (jansson refuses to make a string of anything else);
 * the JSON writer would turn bad bytes into U+FFFD and store a value the
 * user did not give. */
static bool utf8_ok(const char *s)
{
    json_t *j = json_string(s);

    json_decref(j);
    return j != NULL;
}

static int add_label(sb_cli_push *p, const char *arg, char *err, size_t errn)
{
    char *copy, *eq;

    if (p->nlabels == SB_LABELS_MAX)
        return fail(err, errn, "more than %d labels", SB_LABELS_MAX);
    if (strchr(arg, '=') == NULL)
        return fail(err, errn, "label '%.60s' is not key=value", arg);
    copy = strdup(arg);
    if (copy == NULL)
        return SB_ENOMEM;
    p->label_text[p->nlabels] = copy;
    eq = strchr(copy, '=');
    *eq = '\0';
    p->labels[p->nlabels] = (sb_label){copy, eq + 1};
    p->nlabels++;

    if (!label_key_ok(copy))
        return fail(err, errn,
                    "label key '%.60s' must match [A-Za-z_][A-Za-z0-9_]* "
                    "(at most %d bytes)",
                    copy, SB_LABEL_KEY_MAX);
    if (strlen(eq + 1) > SB_LABEL_VALUE_MAX)
        return fail(err, errn, "label '%.60s' value is over %d bytes", copy,
                    SB_LABEL_VALUE_MAX);
    if (!utf8_ok(eq + 1))
        return fail(err, errn, "label '%.60s' value is not valid UTF-8", copy);
    for (size_t i = 0; i + 1 < p->nlabels; i++)
        if (strcmp(p->labels[i].key, copy) == 0)
            return fail(err, errn, "label key '%.60s' is repeated", copy);
    return 0;
}

static int push_operands(sb_cli_push *p, const char *const *ops, size_t nops,
                         char *err, size_t errn)
{
    int rc;

    if (nops < 2)
        return fail(err, errn, "push needs NAME and VALUE");
    p->name = ops[0];
    if (!name_ok(p->name))
        return fail(err, errn,
                    "NAME '%.60s' must match [A-Za-z_:][A-Za-z0-9_:.-]* "
                    "(at most %d bytes)",
                    p->name, SB_NAME_MAX);
    rc = parse_value(ops[1], &p->value);
    if (rc == SB_ERANGE)
        return fail(err, errn, "VALUE '%.40s' is out of range", ops[1]);
    if (rc < 0)
        return fail(err, errn,
                    "VALUE '%.40s' is not a number (or NaN, +Inf, -Inf)",
                    ops[1]);
    for (size_t i = 2; i < nops; i++) {
        rc = add_label(p, ops[i], err, errn);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Handles one push flag at argv[*i]. Returns 1 when the argument is an
 * operand rather than a flag. */
static int push_flag(sb_cli_push *p, int argc, char *const *argv, int *i,
                     const char **time_text, char *err, size_t errn)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    const char *v = eq != NULL ? eq + 1 : NULL;
    bool is_url = len == 5 && memcmp(arg, "--url", 5) == 0;
    bool is_time = len == 6 && memcmp(arg, "--time", 6) == 0;

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        p->help = true;
        return 0;
    }
    if (strncmp(arg, "--", 2) != 0)
        return 1;
    if (!is_url && !is_time)
        return fail(err, errn, "unknown flag '%.60s'", arg);
    if (v == NULL) {
        if (*i + 1 >= argc)
            return fail(err, errn, "%s needs a value",
                        is_url ? "--url" : "--time");
        v = argv[++*i];
    }
    if (is_url)
        p->url = v;
    else
        *time_text = v;
    return 0;
}

static int check_push_url(const char *url, char *err, size_t errn)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return fail(err, errn,
                    "--url '%.60s' must start with http:// or https://", url);
    return 0;
}

static int push_time(sb_cli_push *p, const char *t, int64_t now_ns, char *err,
                     size_t errn)
{
    int rc = sb__parse_time(t, strlen(t), now_ns, &p->time_ns);

    if (rc < 0)
        return fail(err, errn,
                    "--time '%.60s' is not a time (RFC 3339, Unix seconds, "
                    "or relative like -5m)",
                    t);
    p->has_time = true;
    return 0;
}

int sb__cli_parse_push(int argc, char *const *argv, char *const *envp,
                       int64_t now_ns, sb_cli_push *out, char *err, size_t errn)
{
    const char **ops = NULL;
    const char *time_text = NULL;
    size_t nops = 0;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (errn > 0)
        err[0] = '\0';
    ops = calloc(argc > 0 ? (size_t)argc : 1, sizeof *ops);
    if (ops == NULL) {
        rc = SB_ENOMEM;
        goto out;
    }
    for (int i = 0; i < argc && rc == 0 && !out->help; i++) {
        rc = push_flag(out, argc, argv, &i, &time_text, err, errn);
        if (rc == 1) {
            ops[nops++] = argv[i];
            rc = 0;
        }
    }
    if (rc < 0 || out->help)
        goto out;

    if (out->url == NULL)
        out->url = sb__cli_getenv(envp, "SCOREBOARD_URL");
    if (out->url == NULL)
        out->url = "http://127.0.0.1:8080";
    rc = check_push_url(out->url, err, errn);
    if (rc == 0 && time_text != NULL)
        rc = push_time(out, time_text, now_ns, err, errn);
    if (rc == 0)
        rc = push_operands(out, ops, nops, err, errn);

out:
    free(ops);
    if (rc < 0) {
        if (rc == SB_ENOMEM)
            fail(err, errn, "out of memory");
        sb__cli_push_free(out);
    }
    return rc;
}

void sb__cli_push_free(sb_cli_push *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nlabels; i++)
        free(p->label_text[i]);
    p->nlabels = 0;
}

/* ------------------------------------------------------------- usage */

void sb__cli_usage(FILE *f)
{
    fputs("usage: scoreboard <command> [flags]\n"
          "\n"
          "commands:\n"
          "  serve     run the metrics server until SIGINT or SIGTERM\n"
          "  push      send one point to a running server\n"
          "  version   print the version\n"
          "  help      print this text\n"
          "\n"
          "scoreboard serve [flags]   (environment variable in brackets)\n"
          "  --listen ADDR:PORT   address to bind, [::1]:PORT for IPv6;\n"
          "                       port 0 picks a free one\n"
          "                       (SCOREBOARD_LISTEN, default 127.0.0.1:8080)\n"
          "  --retention DUR      keep points this long, e.g. 30m, 1h, 7d\n"
          "                       (SCOREBOARD_RETENTION, default 1h)\n"
          "  --interval DUR       collector period, at least 10ms\n"
          "                       (SCOREBOARD_INTERVAL, default 1s)\n"
          "  --max-series N       series the store may hold\n"
          "                       (SCOREBOARD_MAX_SERIES, default 10000)\n"
          "  --max-points N       points kept per series\n"
          "                       (SCOREBOARD_MAX_POINTS, default 10000)\n"
          "  --max-memory BYTES   sample data kept before the oldest chunks\n"
          "                       are evicted: bytes, KiB, MiB, GiB, 0 = no\n"
          "                       cap (SCOREBOARD_MAX_MEMORY, default 256MiB)\n"
          "  --max-body BYTES     largest POST body: bytes, KiB or MiB\n"
          "                       (SCOREBOARD_MAX_BODY, default 1MiB)\n"
          "  --cors-origin ORIGIN allow browser requests from ORIGIN or *;\n"
          "                       repeatable (SCOREBOARD_CORS_ORIGIN,\n"
          "                       comma-separated)\n"
          "  --access-log         log one line per request\n"
          "                       (SCOREBOARD_ACCESS_LOG=1)\n"
          "  --log-level LEVEL    error, warn, info or debug\n"
          "                       (SCOREBOARD_LOG_LEVEL, default info)\n"
          "  --no-process         do not collect process_* series\n"
          "  --no-system          do not collect system_* series\n"
          "  --statsd ADDR:PORT   receive StatsD lines over UDP and TCP on\n"
          "                       ADDR:PORT; port 0 picks a free one\n"
          "                       (SCOREBOARD_STATSD, default off)\n"
          "  --scrape URL[,DUR[,JOB]]  pull a Prometheus target every DUR\n"
          "                       (default 10s) with job=JOB (default\n"
          "                       scrape); repeatable (SCOREBOARD_SCRAPE,\n"
          "                       space-separated)\n"
          "Flags take '--flag value' or '--flag=value' and override the\n"
          "environment.\n"
          "\n"
          "scoreboard push NAME VALUE [key=value ...] [--url URL] [--time T]\n"
          "  VALUE is a decimal number, NaN, +Inf or -Inf.\n"
          "  --url URL            server (SCOREBOARD_URL,\n"
          "                       default http://127.0.0.1:8080)\n"
          "  --time T             RFC 3339, Unix seconds or relative (-5m);\n"
          "                       default now\n"
          "\n"
          "exit status: 0 success, 1 failure, 2 usage error\n",
          f);
}
