/*
 * info.c - configuration read-outs of a store (store/info.h). The
 * options are copied at creation and never change afterwards.
 */
#include "store/info.h"

#include "store/store_internal.h"

int64_t sb__store_retention_ns(const sb_store *store)
{
    return store->opts.retention_ns;
}
