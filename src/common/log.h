/*
 * log.h - leveled logging for the server side of the library.
 *
 * The library never writes to stderr on its own: it formats one line per
 * event and hands it to the sb_log_fn the embedding program configured.
 * SB_LOG skips formatting entirely when the level is filtered out.
 * Events caused by clients (bad requests) go through a rate limiter so a
 * hostile client cannot flood the log.
 */
#ifndef SB_COMMON_LOG_H
#define SB_COMMON_LOG_H

#include "scoreboard.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct sb_logger {
    sb_log_fn fn; /* NULL: discard everything */
    void *ud;
    int level; /* highest level passed on */
} sb_logger;

void sb__log(const sb_logger *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SB_LOG(lg, lvl, ...)                                                   \
    do {                                                                       \
        const sb_logger *sb_lg_ = (lg);                                        \
        if (sb_lg_ != NULL && sb_lg_->fn != NULL && (lvl) <= sb_lg_->level)    \
            sb__log(sb_lg_, (lvl), __VA_ARGS__);                               \
    } while (0)

/*
 * A token bucket allowing `burst` events at once and `per_sec` per second
 * after that. sb__ratelimit_allow() returns true when the event may be
 * logged; *suppressed then receives how many events were refused since the
 * last allowed one (to append "suppressed=N" to the line). Lock-free.
 */
typedef struct sb_ratelimit {
    _Atomic int64_t window_start_ns;
    _Atomic uint32_t used;
    _Atomic uint64_t suppressed;
    uint32_t per_window;
    int64_t window_ns;
} sb_ratelimit;

void sb__ratelimit_init(sb_ratelimit *rl, uint32_t per_window,
                        int64_t window_ns);
bool sb__ratelimit_allow(sb_ratelimit *rl, int64_t now_ns,
                         uint64_t *suppressed);

/* Writes a value for a key=value log field into out (size n): the text as
 * is when it is a plain token, otherwise double-quoted with quotes,
 * backslashes and control bytes escaped, truncated to fit. Returns out. */
const char *sb__log_quote(const char *s, char *out, size_t n);

#endif
