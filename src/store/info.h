/*
 * info.h - read-only facts about a store's configuration, for the parts
 * of the server that describe it (GET /api/v1/status).
 */
#ifndef SB_STORE_INFO_H
#define SB_STORE_INFO_H

#include "scoreboard.h"

#include <stdint.h>

/* The retention window the store was created with, in nanoseconds.
 * Fixed for the store's life, so it needs no lock. */
int64_t sb__store_retention_ns(const sb_store *store);

#endif
