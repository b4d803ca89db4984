/*
 * log.c - formatting of log events, the stderr sink and the rate limiter.
 *
 * A line is formatted into a fixed stack buffer (longer events are cut,
 * ending in "..."), so logging never allocates and cannot fail half-way.
 * The stderr sink emits each line with a single write(2), which keeps
 * lines from concurrent threads from interleaving.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SB_LOG_LINE_MAX 2048

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sb__log(const sb_logger *lg, int level, const char *fmt, ...)
{
    char line[SB_LOG_LINE_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        memcpy(line + sizeof line - 4, "...", 4);
    lg->fn(lg->ud, level, line);
}

void sb_log_stderr(void *ud, int level, const char *line)
{
    char out[SB_LOG_LINE_MAX + 64];
    struct timespec ts;
    struct tm tm;
    size_t len;
    int n;

    (void)ud;
    if (level < SB_LOG_ERROR || level > SB_LOG_DEBUG)
        level = SB_LOG_ERROR;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], line);
    if (n < 0)
        return;
    len = (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
    if ((size_t)n >= sizeof out)
        out[len - 1] = '\n';
    /* Nothing sensible to do when stderr is gone. */
    if (write(STDERR_FILENO, out, len) < 0)
        return;
}

int sb_log_level_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "warning") == 0)
        return SB_LOG_WARN;
    return -1;
}

void sb__ratelimit_init(sb_ratelimit *rl, uint32_t per_window,
                        int64_t window_ns)
{
    atomic_init(&rl->window_start_ns, 0);
    atomic_init(&rl->used, 0);
    atomic_init(&rl->suppressed, 0);
    rl->per_window = per_window;
    rl->window_ns = window_ns;
}

bool sb__ratelimit_allow(sb_ratelimit *rl, int64_t now_ns, uint64_t *suppressed)
{
    int64_t start = atomic_load(&rl->window_start_ns);

    /* Whoever moves the window forward also resets its budget; losing the
     * race only means sharing the new window's budget. */
    if (now_ns - start >= rl->window_ns &&
        atomic_compare_exchange_strong(&rl->window_start_ns, &start, now_ns))
        atomic_store(&rl->used, 0);

    if (atomic_fetch_add(&rl->used, 1) >= rl->per_window) {
        atomic_fetch_add(&rl->suppressed, 1);
        return false;
    }
    if (suppressed != NULL)
        *suppressed = atomic_exchange(&rl->suppressed, 0);
    return true;
}

static bool is_plain_byte(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

const char *sb__log_quote(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    bool plain = *p != '\0';
    size_t o = 0;

    if (n == 0)
        return out;
    for (const unsigned char *q = p; *q && plain; q++)
        plain = is_plain_byte(*q);
    if (plain) {
        snprintf(out, n, "%s", s);
        return out;
    }

    /* Quoted form; reserve room for the closing quote and NUL. */
    if (n < 3) {
        out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (; *p && o + 5 < n; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20 || *p >= 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
