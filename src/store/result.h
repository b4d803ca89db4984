/*
 * result.h - the layout of a query result, shared by the store (which
 * fills it) and the encoders (which read it).
 *
 * A result owns all its memory. series[] is sorted by name, then labels;
 * points[] is sorted by time, ties broken by series index, and every
 * point's series index is below nseries. All strings live in one arena
 * owned by the result.
 */
#ifndef SB_STORE_RESULT_H
#define SB_STORE_RESULT_H

#include "scoreboard.h"

#include <stdint.h>

typedef struct sb_result_series {
    const char *name;
    size_t name_len;
    sb_label *labels; /* sorted by key; points into the arena */
    size_t nlabels;
    size_t npoints; /* points of this series in range */
    int64_t first_ns;
    int64_t last_ns;
} sb_result_series;

typedef struct sb_result_point {
    int64_t time_ns;
    double value;
    uint32_t series; /* index into series[] */
} sb_result_point;

struct sb_result {
    sb_result_series *series;
    size_t nseries;
    sb_result_point *points;
    size_t npoints;
    char *arena; /* strings of every series */
    sb_label *label_arena;
};

#endif
