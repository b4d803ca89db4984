/*
 * error.c - version, error texts and the wall clock.
 */
#include "scoreboard.h"

#include <time.h>

const char *sb_version(void)
{
    return SB_VERSION_STRING;
}

const char *sb_strerror(int err)
{
    switch (err) {
    case SB_OK:
        return "success";
    case SB_EINVAL:
        return "invalid argument";
    case SB_ENOMEM:
        return "out of memory";
    case SB_ELIMIT:
        return "limit reached";
    case SB_ETOOLARGE:
        return "too large";
    case SB_ERANGE:
        return "out of range";
    case SB_ESYS:
        return "system error";
    case SB_EADDR:
        return "bad or unavailable address";
    default:
        return "unknown error";
    }
}

int64_t sb_time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
